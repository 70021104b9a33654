/** An agent reply → Instagram Send API parts: the shared planner with Instagram's limits. Pure. */
import type { OutboundReply, Recipient } from '../../core/outbound';
import { planSendApi, type SendApiContext, type SendApiPart } from '../meta/send-api';
import { INSTAGRAM_SEND } from './types';

export function planInstagramSend(reply: OutboundReply, recipient: Recipient, replyToExternalId?: string, ctx?: SendApiContext): SendApiPart[] {
  return planSendApi(INSTAGRAM_SEND, reply, recipient, replyToExternalId, ctx);
}
