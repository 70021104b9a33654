/**
 * Every request the bridge makes of a generic platform is signed, Stripe-style:
 *
 *     X-Bridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, "<t>.<raw body>")>
 *
 * The timestamp is inside the MAC, so a receiver that refuses old timestamps (5 minutes is the suggested
 * tolerance) also refuses replays. Receivers must compute the MAC over the raw bytes, never re-serialised JSON.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Bridge-Signature';
export const SIGNATURE_SCHEME = 'v1';
/** What the bridge suggests receivers accept; the reference verifier in the tests and the README use it. */
export const SUGGESTED_TOLERANCE_S = 300;

export function bridgeSignatureHex(secret: string, timestamp: number, raw: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex');
}

export function bridgeSignatureHeader(secret: string, timestamp: number, raw: Buffer | string): string {
  return `t=${timestamp},${SIGNATURE_SCHEME}=${bridgeSignatureHex(secret, timestamp, raw)}`;
}
