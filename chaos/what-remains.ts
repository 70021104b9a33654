/** What a chaos run leaves in the stores: work still queued in Redis, and the dead letters in MongoDB. */
import Redis from 'ioredis';
import mongoose from 'mongoose';

/** Lane entries (sealed payloads) and Bull jobs of every state but completed, under the run's queue prefix. */
export async function leftInRedis(url: string, prefix: string): Promise<{ laneEntries: number; queueJobs: number }> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let laneEntries = 0;
    for (const key of await redis.keys(`${prefix}:lane:*:e`)) laneEntries += await redis.hlen(key);
    const q = `${prefix}:lanes`;
    const counts = await Promise.all([
      redis.llen(`${q}:wait`), redis.llen(`${q}:active`), redis.llen(`${q}:paused`), redis.zcard(`${q}:delayed`), redis.zcard(`${q}:failed`),
    ]);
    return { laneEntries, queueJobs: counts.reduce((a, b) => a + b, 0) };
  } finally {
    redis.disconnect();
  }
}

export async function countDeadLetters(uri: string): Promise<number> {
  const conn = await mongoose.createConnection(uri).asPromise();
  try {
    return await conn.db!.collection('dead_letters').countDocuments();
  } finally {
    await conn.close();
  }
}
