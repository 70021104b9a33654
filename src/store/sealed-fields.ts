/**
 * Every place MongoDB holds a Fernet-sealed value (`{ ct, kid }`: ciphertext and the id of the key that made
 * it), in one list, so that two jobs cannot miss one:
 *  - start-up refuses keys that cannot open what is stored (a wrong ENCRYPTION_KEYS would otherwise surface
 *    as a failed send hours later);
 *  - key rotation re-encrypts every sealed value under the first key, resumably, and says how many it moved.
 * A new encrypted field must be added here; test/component/key-rotation.test.ts checks every one is rotated.
 */
import type { Connection as MongoConnection } from 'mongoose';
import type { KeyRing } from '../crypto/keyring';

export interface SealedField {
  collection: string;
  /** Dotted path of the `{ ct, kid }` object. */
  path: string;
}

export const SEALED_FIELDS: readonly SealedField[] = [
  { collection: 'connections', path: 'metaToken' },
  { collection: 'connections', path: 'platform.apiToken' },
  { collection: 'connections', path: 'platform.webhookSecret' },
  { collection: 'connections', path: 'platform.signingSecret' },
  { collection: 'conversation_recipients', path: 'recipient' },
  { collection: 'dead_letters', path: 'payload' },
  { collection: 'chatwoot_installations', path: 'adminToken' },
];

export class KeyMismatch extends Error {
  override name = 'KeyMismatch';
}

/**
 * Throws KeyMismatch when MongoDB holds a value sealed by a key the ring lacks. Names key ids only (they are
 * hashes, not keys), so the message can be read in any log.
 */
export async function assertKeysOpenStoredSecrets(db: MongoConnection, keys: KeyRing): Promise<void> {
  const known = [...keys.keyIds];
  for (const { collection, path } of SEALED_FIELDS) {
    const doc = await db.collection(collection).findOne({ [`${path}.kid`]: { $exists: true, $nin: known } });
    if (doc) {
      const kid = String(pathValue(doc, `${path}.kid`));
      throw new KeyMismatch(
        `ENCRYPTION_KEYS cannot decrypt stored secrets: ${collection}.${path} was sealed with key id ${kid}, `
        + `but the configured keys have ids ${known.join(', ')}. Put the key with id ${kid} back into the list (after the new one) `
        + 'and run the key rotation before removing it.');
    }
  }
}

export interface RotationReport {
  /** Values re-encrypted under the first key. */
  moved: number;
  /** Values that were already under the first key. */
  current: number;
  /** Values no configured key opens (left as they are, named by collection). */
  unreadable: Array<{ collection: string; path: string; id: string }>;
}

/**
 * Re-encrypts every sealed value not under the first key, keeping each token's timestamp. Resumable and safe to
 * run while bridges serve traffic: each value is replaced with one conditional update (only if it still holds
 * the ciphertext that was read), so a crash or a concurrent write costs at most a re-run, never a secret.
 */
export async function reencryptSealedFields(
  db: MongoConnection,
  keys: KeyRing,
  opts: { batchSize?: number; onProgress?: (moved: number, field: SealedField) => void } = {},
): Promise<RotationReport> {
  const report: RotationReport = { moved: 0, current: 0, unreadable: [] };
  const primary = keys.primaryKeyId;
  const batchSize = opts.batchSize ?? 200;
  for (const field of SEALED_FIELDS) {
    const coll = db.collection(field.collection);
    report.current += await coll.countDocuments({ [`${field.path}.kid`]: primary });
    const skipped: unknown[] = [];
    for (;;) {
      const batch = await coll
        .find({ [`${field.path}.kid`]: { $exists: true, $ne: primary }, _id: { $nin: skipped as never[] } })
        .sort({ _id: 1 })
        .limit(batchSize)
        .toArray();
      if (batch.length === 0) break;
      for (const doc of batch) {
        const ct = pathValue(doc, `${field.path}.ct`);
        let rotated: string;
        try {
          rotated = keys.rotate(String(ct));
        } catch {
          skipped.push(doc._id);
          report.unreadable.push({ collection: field.collection, path: field.path, id: String(doc._id) });
          continue;
        }
        const res = await coll.updateOne(
          { _id: doc._id, [`${field.path}.ct`]: ct },
          { $set: { [`${field.path}.ct`]: rotated, [`${field.path}.kid`]: primary } },
        );
        if (res.modifiedCount === 1) report.moved += 1;
      }
      opts.onProgress?.(report.moved, field);
    }
  }
  return report;
}

function pathValue(doc: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], doc);
}
