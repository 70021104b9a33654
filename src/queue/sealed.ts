/**
 * Message content at rest in Redis is Fernet-sealed with the key ring: queue payloads and lane entries hold
 * ciphertext only, and are deleted when the work is done.
 */
import type { KeyRing } from '../crypto/keyring';

export class Sealer {
  constructor(private readonly keys: KeyRing) {}

  seal(value: unknown): string {
    return this.keys.encrypt(JSON.stringify(value)).token;
  }

  open<T>(token: string): T {
    return JSON.parse(this.keys.decrypt(token)) as T;
  }
}
