/**
 * Meta's `signed_request`, as its Data Deletion Request and Deauthorize callbacks POST it (form field
 * `signed_request`): `<signature>.<payload>`, both base64url without padding. The signature is HMAC-SHA256 of the
 * payload *as sent* (the still-encoded string), keyed with the app secret; the payload is JSON
 * `{ algorithm: "HMAC-SHA256", issued_at, user_id, … }`.
 *
 * Verified before anything is read from the payload, in constant time after a length check; any defect is a
 * SignedRequestError and the caller answers 400 with nothing done. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export class SignedRequestError extends Error {
  override name = 'SignedRequestError';
}

export interface SignedRequest {
  /**
   * The app-scoped id of the Facebook user the callback concerns: the person who logged in to this app (for this
   * bridge, the admin who connected Pages or WhatsApp accounts). Never a PSID, IGSID or phone number.
   */
  userId?: string;
  /** Older Page-uninstall deauthorizations name the Page (`profile_id`) instead of a user (user_id 0). */
  profileId?: string;
  /** Unix seconds. */
  issuedAt: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** Facebook ids are decimal strings; anything else is not one. */
export const FACEBOOK_ID = /^[1-9]\d{0,30}$/;

function decode(part: string, what: string): Buffer {
  if (!BASE64URL.test(part)) throw new SignedRequestError(`${what} is not base64url`);
  return Buffer.from(part.replace(/=+$/, ''), 'base64url');
}

function idOf(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === 'string' && FACEBOOK_ID.test(text) ? text : undefined;
}

/** Builds a signed_request the way Meta does (tests and the sandbox sign their own). */
export function signRequest(payload: Record<string, unknown>, appSecret: string): string {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = createHmac('sha256', appSecret).update(encoded).digest('base64url');
  return `${signature}.${encoded}`;
}

export function parseSignedRequest(signedRequest: unknown, appSecret: string): SignedRequest {
  if (typeof signedRequest !== 'string' || signedRequest.length === 0) throw new SignedRequestError('signed_request is missing');
  // Far longer than any real one (a few hundred bytes); stops work on junk before any HMAC is computed.
  if (signedRequest.length > 8192) throw new SignedRequestError('signed_request is too long');
  const dot = signedRequest.indexOf('.');
  if (dot <= 0 || dot === signedRequest.length - 1) throw new SignedRequestError('signed_request is not <signature>.<payload>');
  const signaturePart = signedRequest.slice(0, dot);
  const payloadPart = signedRequest.slice(dot + 1);
  const given = decode(signaturePart, 'the signature');
  decode(payloadPart, 'the payload');
  const expected = createHmac('sha256', appSecret).update(payloadPart).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SignedRequestError('the signature does not match');

  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadPart.replace(/=+$/, ''), 'base64url').toString('utf8'));
  } catch {
    throw new SignedRequestError('the payload is not JSON');
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new SignedRequestError('the payload is not an object');
  const p = payload as Record<string, unknown>;
  // Meta's own samples compare the algorithm upper-cased.
  if (typeof p.algorithm !== 'string' || p.algorithm.toUpperCase() !== 'HMAC-SHA256') throw new SignedRequestError('the algorithm is not HMAC-SHA256');
  if (typeof p.issued_at !== 'number' || !Number.isFinite(p.issued_at)) throw new SignedRequestError('issued_at is missing');
  const userId = idOf(p.user_id);
  const profileId = idOf(p.profile_id);
  if (!userId && !profileId) throw new SignedRequestError('the payload names no user');
  return { userId, profileId, issuedAt: p.issued_at };
}
