/**
 * Lanes: one FIFO per customer conversation, so one customer's messages reach the platform in Meta's timestamp
 * order while different customers never wait on each other.
 *
 * A lane is a sorted set of event ids (score = Meta timestamp, ties broken by arrival) plus a hash of sealed
 * payloads. Exactly one Bull "drain" job works a lane at a time: its job id is `<lane>:<generation>`. The drain
 * job bumps the generation atomically when it finds the lane empty, and producers read the generation in the
 * same script that adds the event — so an event added while a drain is finishing always gets a new drain job,
 * and an event added while a drain runs is seen by it. No locks, no sleeps.
 */
import type Redis from 'ioredis';

const PUSH = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local seq = redis.call('INCR', KEYS[4]) % 1000
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) * 1000 + seq, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
redis.call('EXPIRE', KEYS[3], ARGV[4])
return redis.call('GET', KEYS[3]) or '0'
`;

const FINISH_IF_EMPTY = `
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
`;

/** A generation counter outlives any drain job of its lane by far; after that the lane can start afresh. */
const GENERATION_TTL_S = 8 * 24 * 3600;

export interface LaneEntry {
  eventId: string;
  sealed: string;
}

export interface LaneHead extends LaneEntry {
  attempts: number;
}

type LaneRedis = Redis & {
  lanePush(q: string, e: string, gen: string, seq: string, id: string, ts: string, payload: string, ttl: string): Promise<string>;
  laneFinish(q: string, gen: string, attempts: string, ttl: string): Promise<number>;
};

export class Lanes {
  private readonly redis: LaneRedis;

  constructor(redis: Redis, private readonly prefix: string) {
    redis.defineCommand('lanePush', { numberOfKeys: 4, lua: PUSH });
    redis.defineCommand('laneFinish', { numberOfKeys: 3, lua: FINISH_IF_EMPTY });
    this.redis = redis as LaneRedis;
  }

  private keys(lane: string) {
    const base = `${this.prefix}:lane:${lane}`;
    return { q: `${base}:q`, e: `${base}:e`, gen: `${base}:gen`, attempts: `${base}:a`, seq: `${this.prefix}:lane-seq` };
  }

  /** Adds events to their lanes (idempotent per event id); returns each lane's current generation. */
  async push(entries: Array<{ lane: string; eventId: string; timestampMs: number; sealed: string }>): Promise<Map<string, string>> {
    const pipeline = this.redis.pipeline();
    for (const entry of entries) {
      const k = this.keys(entry.lane);
      (pipeline as unknown as LaneRedis).lanePush(k.q, k.e, k.gen, k.seq, entry.eventId, String(entry.timestampMs), entry.sealed, String(GENERATION_TTL_S));
    }
    const results = await pipeline.exec();
    const generations = new Map<string, string>();
    results?.forEach(([err, gen], i) => {
      if (err) throw err;
      generations.set(entries[i]!.lane, String(gen));
    });
    return generations;
  }

  async head(lane: string): Promise<LaneHead | null> {
    const k = this.keys(lane);
    const [eventId] = await this.redis.zrange(k.q, 0, 0);
    if (!eventId) return null;
    const [sealed, attempts] = await Promise.all([this.redis.hget(k.e, eventId), this.redis.hget(k.attempts, eventId)]);
    if (sealed === null) {
      // A sorted-set member without payload cannot be worked; drop it so the lane moves on.
      await this.redis.zrem(k.q, eventId);
      return this.head(lane);
    }
    return { eventId, sealed, attempts: Number(attempts ?? 0) };
  }

  async bumpAttempts(lane: string, eventId: string): Promise<number> {
    const k = this.keys(lane);
    const n = await this.redis.hincrby(k.attempts, eventId, 1);
    await this.redis.expire(k.attempts, GENERATION_TTL_S);
    return n;
  }

  async remove(lane: string, eventId: string): Promise<void> {
    const k = this.keys(lane);
    await this.redis.multi().zrem(k.q, eventId).hdel(k.e, eventId).hdel(k.attempts, eventId).exec();
  }

  /** True when the lane was empty and its drain may end (the generation moved on). */
  async finishIfEmpty(lane: string): Promise<boolean> {
    const k = this.keys(lane);
    return (await this.redis.laneFinish(k.q, k.gen, k.attempts, String(GENERATION_TTL_S))) === 1;
  }

  async size(lane: string): Promise<number> {
    return this.redis.zcard(this.keys(lane).q);
  }
}

export function drainJobId(lane: string, generation: string): string {
  return `drain:${lane}:${generation}`;
}
