/**
 * A MultiFernet-style key ring: the first key encrypts, any key decrypts. Each key has a short, stable,
 * non-secret id (first 8 hex digits of SHA-256 over the raw key) that records store beside the ciphertext,
 * so a sweeper can find what still needs `rotate`.
 */
import { FernetKey, InvalidFernetKey, InvalidFernetToken } from './fernet';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class KeyRing {
  readonly #keys: readonly FernetKey[];
  readonly #primary: FernetKey;

  private constructor(keys: readonly FernetKey[], primary: FernetKey) {
    this.#keys = keys;
    this.#primary = primary;
  }

  /** Builds the ring from base64url keys, primary first. Errors name the key's position, never its value. */
  static fromList(keys: readonly string[]): KeyRing {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new InvalidFernetKey('Key ring needs at least one Fernet key; the list is empty');
    }
    const parsed = keys.map((key, index) => {
      try {
        return FernetKey.parse(key);
      } catch (err) {
        const detail = err instanceof InvalidFernetKey ? err.message : 'unreadable';
        throw new InvalidFernetKey(`Fernet key #${index + 1} of ${keys.length} is malformed: ${detail}`);
      }
    });
    parsed.forEach((key, index) => {
      const first = parsed.findIndex((other) => other.id === key.id);
      if (first !== index) {
        throw new InvalidFernetKey(`Fernet key #${index + 1} of ${keys.length} repeats key #${first + 1} (id ${key.id})`);
      }
    });
    const [primary] = parsed;
    if (primary === undefined) throw new InvalidFernetKey('Key ring needs at least one Fernet key');
    return new KeyRing(parsed, primary);
  }

  /** Id of the key that encrypts. */
  get primaryKeyId(): string {
    return this.#primary.id;
  }

  /** Ids of all keys, primary first. */
  get keyIds(): readonly string[] {
    return this.#keys.map((key) => key.id);
  }

  encrypt(plain: string): { token: string; keyId: string } {
    return { token: this.#primary.encrypt(plain), keyId: this.#primary.id };
  }

  /** Decrypts with whichever key signed the token. Throws InvalidFernetToken if none did. */
  decrypt(token: string): string {
    return this.#open(token).plain;
  }

  /**
   * Re-encrypts with the primary key, keeping the original timestamp (Python's `MultiFernet.rotate`), so a
   * rotation never extends a token's TTL.
   */
  rotate(token: string): string {
    const { plain, key } = this.#open(token);
    return this.#primary.encrypt(plain, { now: key.timestampOf(token) });
  }

  /** True when a record stored under `keyId` should be rotated to the primary key. */
  needsRotation(keyId: string): boolean {
    return keyId !== this.#primary.id;
  }

  #open(token: string): { plain: string; key: FernetKey } {
    for (const key of this.#keys) {
      let bytes: Buffer;
      try {
        bytes = key.decrypt(token);
      } catch (err) {
        // Only a signature mismatch says "another key may fit"; any other reason holds for every key.
        if (err instanceof InvalidFernetToken && err.reason === 'signature') continue;
        throw err;
      }
      try {
        return { plain: utf8.decode(bytes), key };
      } catch {
        throw new InvalidFernetToken('encoding');
      }
    }
    throw new InvalidFernetToken('signature');
  }
}
