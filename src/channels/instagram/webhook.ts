/** Instagram webhook body (`object: "instagram"`) → neutral events: the shared `entry[].messaging[]` parser. Pure. */
import type { ParsedDelivery } from '../../core/events';
import { parseMessagingDelivery } from '../meta/messaging-webhook';
import { INSTAGRAM } from './types';

export function parseInstagramDelivery(body: unknown): ParsedDelivery {
  return parseMessagingDelivery(body, INSTAGRAM);
}
