/**
 * How much work is waiting, read from Redis when /metrics is scraped (never counted in memory, so every process
 * of every role reports the same truth, and a restart loses nothing).
 *
 * Work waits in lanes (lanes.ts); every lane that holds work has exactly one drain job in Bull, whose id names
 * the lane. So the lanes worth looking at are found from Bull's own lists — waiting, active, paused, delayed —
 * rather than by scanning the keyspace, which also holds a generation key for every conversation of the last
 * eight days. Reads are pipelined in batches and never block Redis the way one big Lua script would.
 */
import type Bull from 'bull';
import type Redis from 'ioredis';
import { laneOfDrainJobId, laneQueueKey } from './lanes';

export interface QueueBacklog {
  /** The Bull queue's name. */
  queue: string;
  /** Drain jobs by Bull state: one job per lane that has work. */
  jobs: { waiting: number; active: number; delayed: number; paused: number };
  /** Lanes holding at least one entry. */
  lanes: number;
  /** Events and commands waiting in lanes (including the one a worker is handling right now). */
  entries: number;
  /** Age of the oldest lane entry (Meta's timestamp for customer events, arrival for agent commands); 0 when none. */
  oldestEntryAgeSeconds: number;
}

const BATCH = 500;

/** Lane scores are `timestampMs * 1000 + arrival sequence` (lanes.ts PUSH). */
function timestampMsOfScore(score: number): number {
  return Math.floor(score / 1000);
}

export async function readBacklog(drains: Bull.Queue, redis: Redis, prefix: string, now = Date.now()): Promise<QueueBacklog> {
  // One MULTI so the four lists describe the same instant (a job moving from wait to active is counted once).
  const snapshot = await redis.multi()
    .lrange(drains.toKey('wait'), 0, -1)
    .lrange(drains.toKey('active'), 0, -1)
    .lrange(drains.toKey('paused'), 0, -1)
    .zrange(drains.toKey('delayed'), 0, -1)
    .exec();
  if (!snapshot) throw new Error('redis discarded the backlog snapshot');
  const [waiting, active, paused, delayed] = snapshot.map(([err, ids]) => {
    if (err) throw err;
    return ids as string[];
  }) as [string[], string[], string[], string[]];

  const lanes = new Set<string>();
  for (const id of [...waiting, ...active, ...paused, ...delayed]) {
    const lane = laneOfDrainJobId(id);
    if (lane) lanes.add(lane);
  }

  let entries = 0;
  let nonEmpty = 0;
  let oldestMs = Infinity;
  const all = [...lanes];
  for (let i = 0; i < all.length; i += BATCH) {
    const batch = redis.pipeline();
    for (const lane of all.slice(i, i + BATCH)) {
      const key = laneQueueKey(prefix, lane);
      batch.zcard(key).zrange(key, 0, 0, 'WITHSCORES');
    }
    const results = (await batch.exec()) ?? [];
    for (let j = 0; j < results.length; j += 2) {
      const [sizeErr, size] = results[j]!;
      const [headErr, head] = results[j + 1]!;
      if (sizeErr) throw sizeErr;
      if (headErr) throw headErr;
      if (Number(size) === 0) continue;
      nonEmpty += 1;
      entries += Number(size);
      const score = Number((head as string[])[1]);
      if (Number.isFinite(score)) oldestMs = Math.min(oldestMs, timestampMsOfScore(score));
    }
  }

  return {
    queue: drains.name,
    jobs: { waiting: waiting.length, active: active.length, delayed: delayed.length, paused: paused.length },
    lanes: nonEmpty,
    entries,
    oldestEntryAgeSeconds: oldestMs === Infinity ? 0 : Math.max(0, (now - oldestMs) / 1000),
  };
}
