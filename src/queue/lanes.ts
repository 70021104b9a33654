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

/**
 * Adds the entry (once per id) and returns {generation, 1 when that generation's drain job already exists}.
 * ARGV[5] is the key prefix of this lane's drain jobs (Bull's job hash is <prefix><generation>). A job that exists
 * will see this entry: a drain ends only in FINISH_IF_EMPTY / COMPLETE, atomically with the lane being empty, and
 * the generation moves on there — so the caller may skip adding it (a Bull add is most of an edge's Redis work).
 */
const PUSH = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local seq = redis.call('INCR', KEYS[4]) % 1000
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) * 1000 + seq, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
redis.call('EXPIRE', KEYS[3], ARGV[4])
local gen = redis.call('GET', KEYS[3]) or '0'
return {gen, redis.call('EXISTS', ARGV[5] .. gen)}
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

/**
 * The drain's per-event work in one round trip each (it used to take five: ZRANGE, two HGETs, HINCRBY, EXPIRE).
 * TAKE: the head entry with its attempt count bumped (an id without a payload cannot be worked and is dropped).
 * COMPLETE: the finished entry out, then — unless the caller stops taking (ARGV[3] = '0') — TAKE, or, when nothing
 * is left, the lane finished exactly as FINISH_IF_EMPTY does (nothing can slip in: the script is atomic).
 * KEYS: q, e, attempts (, gen). Returns {id, payload, attempts}, or 0 for an empty lane (-1: finished).
 */
const TAKE_BODY = `
while true do
  local id = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not id then return 0 end
  local sealed = redis.call('HGET', KEYS[2], id)
  if sealed then
    local n = redis.call('HINCRBY', KEYS[3], id, 1)
    redis.call('EXPIRE', KEYS[3], ARGV[1])
    return {id, sealed, n}
  end
  redis.call('ZREM', KEYS[1], id)
end
`;

const COMPLETE = `
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if ARGV[3] == '0' then return 0 end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('INCR', KEYS[4])
  redis.call('EXPIRE', KEYS[4], ARGV[1])
  redis.call('DEL', KEYS[3])
  return -1
end
${TAKE_BODY}`;

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
  lanePush(q: string, e: string, gen: string, seq: string, id: string, ts: string, payload: string, ttl: string, jobKeyPrefix: string): Promise<[string, number]>;
  laneFinish(q: string, gen: string, attempts: string, ttl: string): Promise<number>;
  laneTake(q: string, e: string, attempts: string, ttl: string): Promise<[string, string, number] | 0>;
  laneComplete(q: string, e: string, attempts: string, gen: string, ttl: string, id: string, takeNext: string): Promise<[string, string, number] | 0 | -1>;
};

export class Lanes {
  private readonly redis: LaneRedis;

  constructor(redis: Redis, private readonly prefix: string) {
    redis.defineCommand('lanePush', { numberOfKeys: 4, lua: PUSH });
    redis.defineCommand('laneFinish', { numberOfKeys: 3, lua: FINISH_IF_EMPTY });
    redis.defineCommand('laneTake', { numberOfKeys: 3, lua: TAKE_BODY });
    redis.defineCommand('laneComplete', { numberOfKeys: 4, lua: COMPLETE });
    this.redis = redis as LaneRedis;
  }

  private keys(lane: string) {
    return { ...laneKeys(this.prefix, lane), seq: `${this.prefix}:lane-seq` };
  }

  /**
   * Adds events to their lanes (idempotent per event id). Returns, per lane, its current generation and whether
   * that generation's drain job already exists (then nothing needs adding). `jobKeyPrefix(lane)` is the Redis key
   * of the lane's drain job without the generation. When a lane gets several entries, its last answer counts.
   */
  async push(entries: Array<{ lane: string; eventId: string; timestampMs: number; sealed: string }>, jobKeyPrefix: (lane: string) => string): Promise<Map<string, { generation: string; hasDrainJob: boolean }>> {
    const pipeline = this.redis.pipeline();
    for (const entry of entries) {
      const k = this.keys(entry.lane);
      (pipeline as unknown as LaneRedis).lanePush(k.q, k.e, k.gen, k.seq, entry.eventId, String(entry.timestampMs), entry.sealed, String(GENERATION_TTL_S), jobKeyPrefix(entry.lane));
    }
    const results = await pipeline.exec();
    const lanes = new Map<string, { generation: string; hasDrainJob: boolean }>();
    results?.forEach(([err, answer], i) => {
      if (err) throw err;
      const [generation, exists] = answer as [string, number];
      lanes.set(entries[i]!.lane, { generation: String(generation), hasDrainJob: exists === 1 });
    });
    return lanes;
  }

  /** The head entry, its attempt count already bumped for the attempt about to be made; null when the lane is empty. */
  async take(lane: string): Promise<LaneHead | null> {
    const k = this.keys(lane);
    const res = await this.redis.laneTake(k.q, k.e, k.attempts, String(GENERATION_TTL_S));
    return res === 0 ? null : { eventId: res[0], sealed: res[1], attempts: Number(res[2]) };
  }

  /**
   * Removes a finished entry and, with `takeNext`, takes the next one (as take()) in the same round trip; when the
   * lane is then empty it is finished there and then ('finished': the drain may end, as after finishIfEmpty).
   * Without `takeNext` it only removes, and returns null.
   */
  async complete(lane: string, eventId: string, takeNext: boolean): Promise<LaneHead | 'finished' | null> {
    const k = this.keys(lane);
    const res = await this.redis.laneComplete(k.q, k.e, k.attempts, k.gen, String(GENERATION_TTL_S), eventId, takeNext ? '1' : '0');
    if (res === -1) return 'finished';
    return res === 0 ? null : { eventId: res[0], sealed: res[1], attempts: Number(res[2]) };
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

/** The lane a drain job works (the inverse of drainJobId); undefined for any other job id. */
export function laneOfDrainJobId(jobId: string): string | undefined {
  return /^drain:(.+):\d+$/.exec(jobId)?.[1];
}

/** Every key of one lane: entry ids (q), sealed payloads (e), generation counter (gen), attempt counts (a). */
export function laneKeys(prefix: string, lane: string): { q: string; e: string; gen: string; attempts: string } {
  const base = `${prefix}:lane:${lane}`;
  return { q: laneQueueKey(prefix, lane), e: `${base}:e`, gen: `${base}:gen`, attempts: `${base}:a` };
}

/** The sorted set of a lane's entry ids: what /metrics reads to measure the backlog (backlog.ts). */
export function laneQueueKey(prefix: string, lane: string): string {
  return `${prefix}:lane:${lane}:q`;
}
