/**
 * The MongoDB connection and index management. Runs on MongoDB and on FerretDB v1, which refuses TTL indexes
 * (code 238) — so expiry is declared here once: a TTL index where the server takes it, and the sweeper
 * (store/sweeper.ts) everywhere, because mongo-java-server accepts TTL indexes and never expires anything.
 */
import mongoose, { type Connection, type Model } from 'mongoose';
import type { Logger } from '../log/logger';

export async function connectMongo(uri: string): Promise<Connection> {
  const conn = mongoose.createConnection(uri, {
    autoIndex: false,
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
  });
  await conn.asPromise();
  return conn;
}

export interface ExpiryDeclaration {
  model: Model<any>;
  field: string;
}

export interface IndexReport {
  ttl: Record<string, 'ttl-index' | 'sweeper-only'>;
}

/** Creates the schema indexes (failing loudly: uniqueness is what dedupe rests on) and the TTL indexes (softly). */
export async function ensureIndexes(models: Model<any>[], expiring: ExpiryDeclaration[], log: Logger): Promise<IndexReport> {
  for (const model of models) {
    await model.createCollection().catch((err: { code?: number }) => {
      if (err.code !== 48) throw err; // 48 = NamespaceExists
    });
    await model.createIndexes();
  }
  const report: IndexReport = { ttl: {} };
  for (const { model, field } of expiring) {
    try {
      await model.collection.createIndex({ [field]: 1 }, { expireAfterSeconds: 0, name: `${field}_ttl` });
      report.ttl[model.collection.collectionName] = 'ttl-index';
    } catch (err) {
      const code = (err as { code?: number }).code;
      log.warn('TTL index refused by the database; the sweeper enforces expiry instead', {
        collection: model.collection.collectionName, code,
      });
      report.ttl[model.collection.collectionName] = 'sweeper-only';
      await model.collection.createIndex({ [field]: 1 }, { name: `${field}_1` });
    }
  }
  return report;
}

export function isDuplicateKeyError(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}
