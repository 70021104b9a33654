/**
 * Fernet (https://github.com/fernet/spec, Spec.md) on node:crypto only.
 *
 * Token = base64url(0x80 ‖ timestamp u64be ‖ IV[16] ‖ AES-128-CBC(PKCS7) ciphertext ‖ HMAC-SHA256[32]),
 * padded with '='. Key = base64url(signing key[16] ‖ encryption key[16]).
 *
 * Decryption checks, in order: strict base64url, version, lengths, HMAC (constant time), then the
 * timestamp, then AES/PKCS7. Time checks run only on an authenticated timestamp. As in Python's
 * `cryptography.fernet`, the timestamp is only checked when a TTL is given (or a clock skew is asked for
 * explicitly): stored secrets have no TTL and must stay readable whatever a host's clock says.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 0x80;
const BLOCK = 16;
const HMAC_LEN = 32;
const HEADER_LEN = 1 + 8 + BLOCK; // version ‖ timestamp ‖ IV
const MIN_TOKEN_LEN = HEADER_LEN + BLOCK + HMAC_LEN; // PKCS7 always yields at least one block
const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 60;
const BASE64URL_PADDED = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/**
 * Why a token was refused. `signature` also covers "signed by another key". `encoding` is KeyRing-only:
 * the token is authentic but its plaintext is not UTF-8 text.
 */
export type InvalidFernetReason = 'malformed' | 'signature' | 'expired' | 'future' | 'padding' | 'encoding';

/** The token is not a valid Fernet token for this key. Carries no token, key or plaintext. */
export class InvalidFernetToken extends Error {
  override readonly name = 'InvalidFernetToken';
  constructor(readonly reason: InvalidFernetReason) {
    super(`invalid Fernet token (${reason})`);
  }
}

/** The key is not 32 bytes of padded base64url. The message gives the length only, never the key. */
export class InvalidFernetKey extends Error {
  override readonly name = 'InvalidFernetKey';
}

export interface EncryptOptions {
  /** Timestamp to record, in Unix seconds. Defaults to the current time. */
  now?: number;
  /** 16-byte IV. Only for test vectors; defaults to 16 random bytes. */
  iv?: Buffer;
}

export interface DecryptOptions {
  /** Reject tokens whose timestamp is more than this many seconds before `now`. */
  ttlSeconds?: number;
  /** Current time in Unix seconds. Defaults to the current time. */
  now?: number;
  /** Reject tokens stamped more than this far after `now`. Applies when `ttlSeconds` is set, or when given. */
  maxClockSkewSeconds?: number;
}

/** Strict padded base64url: canonical only, so a token has exactly one spelling. */
function decodeBase64Url(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64URL_PADDED.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text.replace(/=+$/, '') ? bytes : undefined;
}

function encodeBase64Url(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function requireSeconds(name: string, value: number): number {
  if (!Number.isSafeInteger(Math.floor(value)) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number of seconds`);
  }
  return Math.floor(value);
}

export class FernetKey {
  /** Stable, non-secret key id: the first 8 hex digits of SHA-256 over the 32 raw key bytes. */
  readonly id: string;
  readonly #signingKey: Buffer;
  readonly #encryptionKey: Buffer;

  private constructor(key: Buffer) {
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 8);
    this.#signingKey = Buffer.from(key.subarray(0, 16));
    this.#encryptionKey = Buffer.from(key.subarray(16, 32));
  }

  static parse(b64url: string): FernetKey {
    const key = typeof b64url === 'string' ? decodeBase64Url(b64url) : undefined;
    if (key === undefined || key.length !== 32) {
      const length = typeof b64url === 'string' ? `${b64url.length} characters` : typeof b64url;
      throw new InvalidFernetKey(`Fernet key must be 32 bytes as padded base64url (44 characters); got ${length}`);
    }
    return new FernetKey(key);
  }

  /** A fresh random key, base64url-encoded like Python's `Fernet.generate_key()`. */
  static generate(): string {
    return encodeBase64Url(randomBytes(32));
  }

  encrypt(plaintext: Buffer | string, opts: EncryptOptions = {}): string {
    const timestamp = requireSeconds('now', opts.now ?? nowSeconds());
    const iv = opts.iv ?? randomBytes(BLOCK);
    if (iv.length !== BLOCK) throw new RangeError(`iv must be ${BLOCK} bytes`);

    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);

    const header = Buffer.alloc(9);
    header.writeUInt8(VERSION, 0);
    header.writeBigUInt64BE(BigInt(timestamp), 1);
    const signed = Buffer.concat([header, iv, ciphertext]);
    return encodeBase64Url(Buffer.concat([signed, this.#hmac(signed)]));
  }

  decrypt(token: string, opts: DecryptOptions = {}): Buffer {
    const data = this.#verified(token);
    const timestamp = Number(data.readBigUInt64BE(1));

    const checkSkew = opts.ttlSeconds !== undefined || opts.maxClockSkewSeconds !== undefined;
    if (checkSkew) {
      const now = requireSeconds('now', opts.now ?? nowSeconds());
      if (opts.ttlSeconds !== undefined && timestamp + requireSeconds('ttlSeconds', opts.ttlSeconds) < now) {
        throw new InvalidFernetToken('expired');
      }
      const skew = requireSeconds('maxClockSkewSeconds', opts.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS);
      if (now + skew < timestamp) throw new InvalidFernetToken('future');
    }

    const iv = data.subarray(9, HEADER_LEN);
    const ciphertext = data.subarray(HEADER_LEN, data.length - HMAC_LEN);
    const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, iv);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new InvalidFernetToken('padding');
    }
  }

  /** The token's timestamp in Unix seconds, after checking its HMAC (like Python's `extract_timestamp`). */
  timestampOf(token: string): number {
    return Number(this.#verified(token).readBigUInt64BE(1));
  }

  /** Decodes the token and checks version, lengths and HMAC. Returns the raw token bytes. */
  #verified(token: string): Buffer {
    const data = typeof token === 'string' ? decodeBase64Url(token) : undefined;
    if (data === undefined || data.length < MIN_TOKEN_LEN || data[0] !== VERSION) {
      throw new InvalidFernetToken('malformed');
    }
    if ((data.length - HEADER_LEN - HMAC_LEN) % BLOCK !== 0) throw new InvalidFernetToken('malformed');

    const signed = data.subarray(0, data.length - HMAC_LEN);
    const given = data.subarray(data.length - HMAC_LEN);
    const expected = this.#hmac(signed);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidFernetToken('signature');
    }
    return data;
  }

  #hmac(signed: Buffer): Buffer {
    return createHmac('sha256', this.#signingKey).update(signed).digest();
  }
}
