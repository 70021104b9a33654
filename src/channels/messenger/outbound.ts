/** An agent reply → Messenger Send API parts: the shared planner with Messenger's limits. Pure. */
import type { OutboundReply, Recipient } from '../../core/outbound';
import { planSendApi, type SendApiContext, type SendApiPart } from '../meta/send-api';
import { MESSENGER_SEND } from './types';

export function planMessengerSend(reply: OutboundReply, recipient: Recipient, replyToExternalId?: string, ctx?: SendApiContext): SendApiPart[] {
  return planSendApi(MESSENGER_SEND, reply, recipient, replyToExternalId, ctx);
}
