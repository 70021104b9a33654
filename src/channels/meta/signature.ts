/**
 * X-Hub-Signature-256: HMAC-SHA256 of the exact bytes Meta sent, keyed with the app secret. Never of
 * re-serialised JSON (Meta escapes unicode differently). Compared in constant time after a length check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signMetaBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

export function verifyMetaSignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(signMetaBody(raw, appSecret), 'utf8');
  const given = Buffer.from(header.trim().toLowerCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
