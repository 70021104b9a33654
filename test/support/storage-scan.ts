/**
 * Everything a bridge stored, read raw (no models): every document of every collection in its MongoDB database,
 * and every Redis key under its queue prefix with its value. Privacy tests count what mentions someone before and
 * after an erasure, so nothing the bridge keeps can hide from them behind a repository.
 */
import mongoose from 'mongoose';
import Redis from 'ioredis';

export interface StoredDoc {
  collection: string;
  doc: Record<string, any>;
  /** The document as JSON, for "does it mention X" checks. */
  json: string;
}

export async function allDocuments(mongoUri: string): Promise<StoredDoc[]> {
  const db = await mongoose.createConnection(mongoUri).asPromise();
  try {
    const out: StoredDoc[] = [];
    for (const { name } of await db.db!.listCollections().toArray()) {
      if (name.startsWith('system.')) continue;
      for (const doc of await db.db!.collection(name).find().toArray()) out.push({ collection: name, doc, json: JSON.stringify(doc) });
    }
    return out;
  } finally {
    await db.close();
  }
}

export interface StoredKey {
  key: string;
  /** The value, flattened to text (hash fields and values, set members, list items). */
  text: string;
}

export async function allKeys(redisUrl: string, prefix: string): Promise<StoredKey[]> {
  const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const out: StoredKey[] = [];
    for (const key of [...new Set(keys)]) {
      const type = await redis.type(key);
      let text = '';
      if (type === 'string') text = (await redis.get(key)) ?? '';
      else if (type === 'hash') text = JSON.stringify(await redis.hgetall(key));
      else if (type === 'zset') text = JSON.stringify(await redis.zrange(key, 0, -1));
      else if (type === 'list') text = JSON.stringify(await redis.lrange(key, 0, -1));
      else if (type === 'set') text = JSON.stringify(await redis.smembers(key));
      out.push({ key, text });
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Documents (or keys) that mention any of the values. */
export function mentioning<T extends { json?: string; text?: string; key?: string }>(items: T[], values: string[]): T[] {
  return items.filter((i) => values.some((v) => (i.json ?? '').includes(v) || (i.text ?? '').includes(v) || (i.key ?? '').includes(v)));
}
