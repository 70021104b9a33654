/**
 * Erasing queued work from Redis: a deleted connection's lanes, or one end user's entries in them.
 *
 * What a lane holds (lanes.ts): entry ids in a sorted set, sealed payloads in a hash, attempt counts, a generation
 * counter, and one Bull drain job while it has work. Entries are matched by opening them (they are sealed), so an
 * end user is found under any id they wrote with (phone, BSUID) and by the conversations an agent answered them in.
 *
 * A lane's keys are deleted only when it is empty and no drain job of its current generation exists, in one Lua
 * script: a producer adding an entry at that moment either lands first (the lane is not empty: kept) or after
 * (it starts a fresh generation and drain job), so no lane ever gets two drainers. A drain job that is running
 * finishes the entry in hand (at most QUEUE_LOCK_MS), then finds its lane empty; erasure waits for that, briefly.
 */
import type Bull from 'bull';
import type Redis from 'ioredis';
import type { LanePayload } from './pipeline';
import type { Sealer } from './sealed';
import { drainJobId, laneKeys, laneOfDrainJobId } from './lanes';

/** Deletes an empty lane's keys unless its current drain job exists. 1 = deleted, 0 = kept (busy or not empty). */
const DELETE_IF_IDLE = `
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local gen = redis.call('GET', KEYS[3]) or '0'
if redis.call('EXISTS', ARGV[1] .. gen) == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
`;

type EraserRedis = Redis & { laneDeleteIfIdle(q: string, e: string, gen: string, a: string, jobKeyPrefix: string): Promise<number> };

export interface LaneErasure {
  /** Entries (events and agent commands) removed. */
  entries: number;
  /** Drain jobs removed before they ran. */
  jobs: number;
  /** Lanes whose drain job was still running when erasure gave up waiting: their counters expire on their own. */
  busyLanes: number;
  /** The opened payloads of the removed entries (erasure reads the customer's other ids from them). */
  removed: LanePayload[];
}

/** Redis glob special characters in a connection id (they are base64url, so none; escaped all the same). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export class LaneEraser {
  private readonly redis: EraserRedis;

  constructor(redis: Redis, private readonly drains: Bull.Queue, private readonly prefix: string, private readonly sealer: Sealer,
    private readonly opts: { settleMs?: number; pollMs?: number } = {}) {
    redis.defineCommand('laneDeleteIfIdle', { numberOfKeys: 4, lua: DELETE_IF_IDLE });
    this.redis = redis as EraserRedis;
  }

  /** Every lane of a deleted connection, with its drain jobs. */
  async eraseConnection(connectionId: string): Promise<LaneErasure> {
    const lanes = new Set<string>();
    let entries = 0;
    for (const key of await this.scan(`${this.prefix}:lane:${globEscape(connectionId)}:*`)) {
      const lane = this.laneOfKey(key);
      if (lane) lanes.add(lane);
    }
    for (const lane of lanes) entries += await this.redis.zcard(laneKeys(this.prefix, lane).q);
    // Entries first, so a drain job running now finds its lane empty and ends; the counters go once it has.
    const entryKeys = [...lanes].flatMap((lane) => { const k = laneKeys(this.prefix, lane); return [k.q, k.e, k.attempts]; });
    if (entryKeys.length > 0) await this.redis.del(...entryKeys);
    const jobs = await this.removeWaitingJobs((lane) => lane.startsWith(`${connectionId}:`));
    const busyLanes = await this.deleteIdle(lanes);
    return { entries, jobs, busyLanes, removed: [] };
  }

  /**
   * One end user's entries in a connection's lanes (those `concerns` recognises), then the lanes that are left
   * empty — theirs, and `lanes` named by the caller (computed from the ids it was given) — with their jobs.
   */
  async eraseCustomer(connectionId: string, concerns: (payload: LanePayload) => boolean, lanes: string[]): Promise<LaneErasure> {
    const touched = new Set(lanes);
    const removed: LanePayload[] = [];
    for (const key of await this.scan(`${this.prefix}:lane:${globEscape(connectionId)}:*:e`)) {
      const lane = this.laneOfKey(key)!;
      const k = laneKeys(this.prefix, lane);
      const entries = await this.redis.hgetall(k.e);
      for (const [eventId, sealed] of Object.entries(entries)) {
        let payload: LanePayload;
        try {
          payload = this.sealer.open<LanePayload>(sealed);
        } catch {
          continue; // sealed under a key no longer configured: no one can read it, and it is not matched.
        }
        if (!concerns(payload)) continue;
        await this.redis.multi().zrem(k.q, eventId).hdel(k.e, eventId).hdel(k.attempts, eventId).exec();
        removed.push(payload);
        touched.add(lane);
      }
    }
    const emptied: string[] = [];
    for (const lane of touched) if ((await this.redis.zcard(laneKeys(this.prefix, lane).q)) === 0) emptied.push(lane);
    const jobs = await this.removeWaitingJobs((lane) => emptied.includes(lane));
    const busyLanes = await this.deleteIdle(new Set(emptied));
    return { entries: removed.length, jobs, busyLanes, removed };
  }

  private laneOfKey(key: string): string | undefined {
    const m = /^(.*):(q|e|gen|a)$/.exec(key.slice(`${this.prefix}:lane:`.length));
    return m?.[1];
  }

  private async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return [...new Set(keys)];
  }

  /** Drain jobs not yet running (waiting, paused, delayed) of the chosen lanes, removed; returns how many. */
  private async removeWaitingJobs(chosen: (lane: string) => boolean): Promise<number> {
    const snapshot = await this.redis.multi()
      .lrange(this.drains.toKey('wait'), 0, -1)
      .lrange(this.drains.toKey('paused'), 0, -1)
      .zrange(this.drains.toKey('delayed'), 0, -1)
      .exec();
    const ids = (snapshot ?? []).flatMap(([err, list]) => (err ? [] : (list as string[])));
    let removed = 0;
    for (const id of ids) {
      const lane = laneOfDrainJobId(id);
      if (!lane || !chosen(lane)) continue;
      const job = await this.drains.getJob(id);
      // A job that became active meanwhile is locked and cannot be removed: it finds its lane empty and ends.
      if (job && (await job.remove().then(() => true, () => false))) removed += 1;
    }
    return removed;
  }

  /** Deletes each lane's keys once idle, waiting a little for running drain jobs; returns the lanes still busy. */
  private async deleteIdle(lanes: Set<string>): Promise<number> {
    const jobKeyPrefix = (lane: string) => this.drains.toKey(drainJobId(lane, ''));
    let pending = [...lanes];
    const deadline = Date.now() + (this.opts.settleMs ?? 10_000);
    for (;;) {
      const still: string[] = [];
      for (const lane of pending) {
        const k = laneKeys(this.prefix, lane);
        if ((await this.redis.laneDeleteIfIdle(k.q, k.e, k.gen, k.attempts, jobKeyPrefix(lane))) === 0) still.push(lane);
      }
      pending = still;
      if (pending.length === 0 || Date.now() > deadline) return pending.length;
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 100));
    }
  }
}

/** Whom an erasure is about, as lane payloads name them. */
export interface PayloadSubject {
  ids: ReadonlySet<string>;
  conversations: ReadonlySet<string>;
}

/** Every id a payload names its customer by (the inbound customer or recipient, the outbound recipient). */
export function customerIdsIn(payload: LanePayload): string[] {
  if (payload.direction === 'inbound') {
    const who = payload.event.kind === 'status' ? payload.event.recipient : payload.event.customer;
    return [who.id, who.phone, who.bsuid].filter((v): v is string => Boolean(v));
  }
  const { command } = payload;
  return command.kind === 'typing' ? [] : [command.recipient.id, command.recipient.phone].filter((v): v is string => Boolean(v));
}

/** True when a lane (or dead-letter) payload is about the subject: one of their ids, or one of their conversations. */
export function payloadConcerns(payload: LanePayload, subject: PayloadSubject): boolean {
  if (customerIdsIn(payload).some((id) => subject.ids.has(id))) return true;
  return payload.direction === 'outbound' && subject.conversations.has(payload.command.platformConversationId);
}
