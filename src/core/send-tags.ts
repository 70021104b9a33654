/**
 * The tag each part of a reply carries to Meta, so that Meta's own webhooks can later say "this part was sent".
 *
 * Graph has no idempotency key. When the answer to a send is lost (the process died, the connection broke, the
 * request timed out), only Meta knows whether the message went out. WhatsApp echoes a string set on the send
 * (`biz_opaque_callback_data`, ≤512 characters) in every status webhook of that message, so a part tagged here
 * is recognised when its status arrives, whether or not the bridge ever saw Graph's answer (SendLedger).
 *
 * The tag is a hash: any app subscribed to the same WhatsApp Business Account receives it, so it must not spell
 * out the bridge's ids. It is the same for every attempt of one part (a retry, a replayed dead letter).
 */
import { createHash } from 'node:crypto';

const SEND_TAG_PREFIX = 'mcb1:';
const SEND_TAG = new RegExp(`^${SEND_TAG_PREFIX}[A-Za-z0-9_-]{22}$`);

export function sendTagOf(connectionId: string, platformMessageId: string, part: number): string {
  const digest = createHash('sha256').update(`${connectionId}\n${platformMessageId}\n${part}`).digest('base64url');
  return `${SEND_TAG_PREFIX}${digest.slice(0, 22)}`;
}

/** True for a tag this bridge wrote (another app's biz_opaque_callback_data is ignored). */
export function isSendTag(value: unknown): value is string {
  return typeof value === 'string' && SEND_TAG.test(value);
}
