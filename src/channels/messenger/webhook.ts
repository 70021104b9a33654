/** Messenger webhook body (`object: "page"`) → neutral events: the shared `entry[].messaging[]` parser. Pure. */
import type { ParsedDelivery } from '../../core/events';
import { parseMessagingDelivery } from '../meta/messaging-webhook';
import { MESSENGER } from './types';

export function parseMessengerDelivery(body: unknown): ParsedDelivery {
  return parseMessagingDelivery(body, MESSENGER);
}
