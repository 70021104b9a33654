/**
 * `keys …`: the operator's Fernet commands. These run here, against MongoDB, with the same MONGODB_URI and
 * ENCRYPTION_KEYS as the bridges: only whoever holds the keys can rotate them, so no HTTP endpoint does this.
 *
 * Rotation, step by step (README "Key rotation"): generate a key; put it FIRST in ENCRYPTION_KEYS of every
 * bridge, keeping the old one after it, and restart them; run `keys rotate` (resumable: run it again after any
 * interruption); `keys check` confirms nothing needs the old key; remove the old key and restart.
 */
import mongoose from 'mongoose';
import type { CommandModule } from '../context';
import { loadSettings, readConfigFile } from '../../config';
import { KeyRing } from '../../crypto/keyring';
import { FernetKey } from '../../crypto/fernet';
import { SEALED_FIELDS, assertKeysOpenStoredSecrets, reencryptSealedFields } from '../../store/sealed-fields';
import { AuditLog } from '../../store/audit';
import { printRecord, progress } from '../output';

const DAY_MS = 86_400_000;

async function withDatabase<T>(work: (db: mongoose.Connection, keys: KeyRing, auditDays: number) => Promise<T>): Promise<T> {
  const s = loadSettings(process.env, ['MONGODB_URI', 'ENCRYPTION_KEYS', 'RETENTION_AUDIT_DAYS'], readConfigFile());
  const keys = KeyRing.fromList(s.ENCRYPTION_KEYS as string[]);
  const db = await mongoose.createConnection(s.MONGODB_URI as string, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    return await work(db, keys, s.RETENTION_AUDIT_DAYS as number);
  } finally {
    await db.close();
  }
}

export const keyCommands: CommandModule = (program, ctx) => {
  const keys = program.command('keys').description('Fernet keys that encrypt stored secrets (uses MONGODB_URI and ENCRYPTION_KEYS)');

  keys.command('generate')
    .description('print a new random Fernet key (the bridge never stores or invents one: put it in ENCRYPTION_KEYS yourself)')
    .action(() => {
      process.stdout.write(`${FernetKey.generate()}\n`);
    });

  keys.command('check')
    .description('check that the configured keys open every stored secret, and count secrets per key id')
    .action(async () => {
      const { out } = ctx();
      await withDatabase(async (db, ring) => {
        await assertKeysOpenStoredSecrets(db, ring);
        const perKey: Record<string, number> = {};
        for (const kid of ring.keyIds) {
          let n = 0;
          for (const { collection, path } of SEALED_FIELDS) n += await db.collection(collection).countDocuments({ [`${path}.kid`]: kid });
          perKey[kid === ring.primaryKeyId ? `${kid} (primary)` : kid] = n;
        }
        printRecord(out, { ok: true, secretsPerKeyId: perKey });
        const stale = Object.entries(perKey).filter(([k, n]) => !k.endsWith('(primary)') && n > 0);
        if (!out.json) progress(stale.length === 0 ? 'Every secret is under the primary key: older keys can be removed.' : 'Some secrets still need an older key: run `keys rotate`.');
      });
    });

  keys.command('rotate')
    .description('re-encrypt every stored secret under the first key in ENCRYPTION_KEYS (resumable; safe while bridges run)')
    .option('--batch-size <n>', 'documents read per round trip', (v) => Number(v), 200)
    .action(async (o: { batchSize: number }) => {
      const { out } = ctx();
      await withDatabase(async (db, ring, auditDays) => {
        progress(`re-encrypting under key id ${ring.primaryKeyId}…`);
        const report = await reencryptSealedFields(db, ring, {
          batchSize: o.batchSize,
          onProgress: (moved, field) => progress(`  ${field.collection}.${field.path}: ${moved} moved so far`),
        });
        await new AuditLog(db, auditDays * DAY_MS).record({
          tenantId: null, actor: 'cli', action: 'keys.rotate',
          details: { primaryKeyId: ring.primaryKeyId, moved: report.moved, current: report.current, unreadable: report.unreadable.length },
        });
        printRecord(out, { primaryKeyId: ring.primaryKeyId, moved: report.moved, alreadyCurrent: report.current, unreadable: report.unreadable.length });
        if (report.unreadable.length > 0) {
          for (const u of report.unreadable) progress(`  unreadable: ${u.collection}.${u.path} of ${u.id}`);
          process.exitCode = 1;
        }
      });
    });
};
