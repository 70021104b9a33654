/**
 * Sends whose answer may have been lost, and the Meta ids that Meta's status webhooks gave for them. Redis,
 * ids only, keyed by connection and send tag (src/core/send-tags.ts).
 *
 * - Before a tagged part goes to Graph, the relay notes the attempt (`attempting`). A definite answer ends it:
 *   the part recorded (`settled`), or Graph refused it (`settled` too: nothing was sent).
 * - The webhook edge notes the wamid of every status whose tag belongs to a noted attempt (`noteEchoes`); a
 *   status for a send already settled writes nothing, so in steady state the ledger holds almost no keys.
 * - A retry that finds an attempt and no record asks `lookup`: a wamid means the part went out (record it, do not
 *   resend); an attempt and no wamid means Meta's status may still come (OutboundRelay waits, then resends).
 *
 * The edge writes at once, not when its lane gets to the status: a backed-up lane would hide the answer from the
 * retry that is waiting for it.
 */
import type { Redis } from 'ioredis';

export interface SendEcho {
  connectionId: string;
  tag: string;
  externalId: string;
}

/** Sets the echo only where its attempt is still noted (one round trip for all statuses of a delivery). */
const NOTE_ECHOES = `
local ttl = tonumber(ARGV[1])
local n = 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('SET', KEYS[i + 1], ARGV[(i + 1) / 2 + 1], 'PX', ttl)
    n = n + 1
  end
end
return n
`;

type LedgerRedis = Redis & { sendLedgerNoteEchoes(...args: Array<string | number>): Promise<number> };

export class SendLedger {
  private readonly redis: LedgerRedis;

  /** `keepMs`: how long an unsettled attempt and its echo are kept (a retry or a replay may come days later). */
  constructor(redis: Redis, private readonly prefix: string, private readonly keepMs = 7 * 86_400_000) {
    redis.defineCommand('sendLedgerNoteEchoes', { lua: NOTE_ECHOES });
    this.redis = redis as LedgerRedis;
  }

  private attemptKey(connectionId: string, tag: string): string {
    return `${this.prefix}:send-attempt:${connectionId}:${tag}`;
  }

  private echoKey(connectionId: string, tag: string): string {
    return `${this.prefix}:send-echo:${connectionId}:${tag}`;
  }

  /** Right before the send: from here until settled, the part may have reached Meta. */
  async attempting(connectionId: string, tag: string, at = Date.now()): Promise<void> {
    await this.redis.set(this.attemptKey(connectionId, tag), String(at), 'PX', this.keepMs);
  }

  /** The part is recorded, or Graph answered that it refused it: no retry needs the ledger any more. */
  async settled(connectionId: string, tag: string): Promise<void> {
    await this.redis.del(this.attemptKey(connectionId, tag), this.echoKey(connectionId, tag));
  }

  /** What is known of an earlier attempt of this part: when it started, and Meta's id if a status named it. */
  async lookup(connectionId: string, tag: string): Promise<{ attemptedAt?: number; externalId?: string }> {
    const [attempt, echo] = await this.redis.mget(this.attemptKey(connectionId, tag), this.echoKey(connectionId, tag));
    const attemptedAt = attempt ? Number(attempt) : undefined;
    return {
      ...(attemptedAt !== undefined && Number.isFinite(attemptedAt) ? { attemptedAt } : {}),
      ...(echo ? { externalId: echo } : {}),
    };
  }

  /** The webhook edge: statuses that carried a send tag. Returns how many belonged to an unsettled attempt. */
  async noteEchoes(echoes: SendEcho[]): Promise<number> {
    if (echoes.length === 0) return 0;
    const keys = echoes.flatMap((e) => [this.attemptKey(e.connectionId, e.tag), this.echoKey(e.connectionId, e.tag)]);
    return this.redis.sendLedgerNoteEchoes(keys.length, ...keys, this.keepMs, ...echoes.map((e) => e.externalId));
  }
}
