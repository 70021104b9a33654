/**
 * Looks for texts (a message marker, tokens) in everything Redis and MongoDB hold: every Redis key of every
 * type (names and values, byte for byte), every document of every MongoDB collection (its BSON bytes, so
 * binary fields count, and its JSON). A value of a type the scan cannot read is reported too, never skipped.
 */
import Redis from 'ioredis';
import mongoose from 'mongoose';

export interface Finding {
  store: 'redis' | 'mongodb';
  /** Redis key (and type) or MongoDB collection and _id. */
  where: string;
  needle: string;
}

export interface ScanResult {
  /** Keys or documents read. */
  scanned: number;
  findings: Finding[];
  /** Keys of a type the scan does not know how to read. */
  unreadable: string[];
}

function hits(bytes: Buffer, needles: string[]): string[] {
  return needles.filter((n) => bytes.includes(Buffer.from(n, 'utf8')));
}

async function valuesOf(redis: Redis, key: string, type: string): Promise<Buffer[] | undefined> {
  switch (type) {
    case 'string': { const v = await redis.getBuffer(key); return v ? [v] : []; }
    case 'hash': { const h = await redis.hgetallBuffer(key); return Object.entries(h).flatMap(([f, v]) => [Buffer.from(f), v]); }
    case 'list': return redis.lrangeBuffer(key, 0, -1);
    case 'set': return redis.smembersBuffer(key);
    case 'zset': return redis.zrangeBuffer(key, 0, -1);
    case 'stream': {
      const entries = (await redis.xrangeBuffer(key, '-', '+')) as unknown as Array<[Buffer, Buffer[]]>;
      return entries.flatMap(([id, fields]) => [id, ...fields]);
    }
    case 'none': return []; // expired or deleted between SCAN and TYPE
    default: return undefined;
  }
}

/** Every key of every logical database that holds keys. */
export async function scanRedis(url: string, needles: string[]): Promise<ScanResult> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const result: ScanResult = { scanned: 0, findings: [], unreadable: [] };
  try {
    const keyspace = await redis.info('keyspace');
    const dbs = [...keyspace.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
    for (const db of dbs.length ? dbs : [0]) {
      await redis.select(db);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', 1000);
        cursor = String(next);
        for (const keyBytes of keys) {
          const key = keyBytes.toString('utf8');
          const type = await redis.type(key);
          const values = await valuesOf(redis, key, type);
          result.scanned += 1;
          if (!values) { result.unreadable.push(`db${db} ${key} (${type})`); continue; }
          for (const needle of hits(Buffer.concat([keyBytes, ...values]), needles)) {
            result.findings.push({ store: 'redis', where: `db${db} ${type} ${key}`, needle });
          }
        }
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return result;
}

/** Every document of every collection of the database the URI names. */
export async function scanMongo(uri: string, needles: string[]): Promise<ScanResult> {
  const conn = mongoose.createConnection(uri);
  await conn.asPromise();
  const result: ScanResult = { scanned: 0, findings: [], unreadable: [] };
  try {
    const db = conn.db!;
    for (const { name } of await db.listCollections().toArray()) {
      for await (const doc of db.collection(name).find({})) {
        result.scanned += 1;
        const bytes = Buffer.concat([Buffer.from(mongoose.mongo.BSON.serialize(doc)), Buffer.from(JSON.stringify(doc), 'utf8')]);
        for (const needle of hits(bytes, needles)) result.findings.push({ store: 'mongodb', where: `${name} ${String(doc._id)}`, needle });
      }
    }
  } finally {
    await conn.close();
  }
  return result;
}
