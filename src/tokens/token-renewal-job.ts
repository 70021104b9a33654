/**
 * The repeatable background job: every TOKEN_CHECK_INTERVAL_S, one worker process checks every connection's token
 * (src/tokens/token-checker.ts: inspect, renew when due, store the health).
 *
 * One process at a time, and once per interval across all of them: a Redis key taken with SET NX is both the lock
 * and the "swept recently" mark. While a sweep runs it holds a short lease, extended after each connection, so a
 * process that dies mid-sweep frees it within LEASE_MS; when the sweep ends the key is left to expire one interval
 * after the sweep began, and every process that ticks before then finds it taken and does nothing. Processes tick
 * several times per interval, so the sweep is never more than a tick late. Each connection's write is also
 * conditional (ConnectionRepository.recordTokenCheck), so even two overlapping sweeps could not undo each other.
 */
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { ALL_TENANTS, type ConnectionRepository } from '../store/connections';
import type { Logger } from '../log/logger';
import { errorMessage } from '../core/errors';
import { withLogContext } from '../log/context';
import type { CheckOutcome, TokenChecker } from './token-checker';

const LEASE_MS = 120_000;

// Only the holder may extend or shorten the key: compare the value, then act.
const EXTEND_IF_OURS = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export type SweepReport = Partial<Record<CheckOutcome | 'error', number>>;

export interface TokenRenewalJobDeps {
  checker: TokenChecker;
  connections: ConnectionRepository;
  redis: Redis;
  prefix: string;
  intervalMs: number;
  log: Logger;
}

export class TokenRenewalJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private readonly key: string;
  private readonly tickMs: number;

  constructor(private readonly deps: TokenRenewalJobDeps) {
    this.key = `${deps.prefix}:token-sweep`;
    this.tickMs = Math.max(250, Math.min(deps.intervalMs / 4, 60_000));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** No new sweep starts; the one running finishes its current connection's check (each is short) first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = withLogContext({ jobId: 'token-sweep' }, () => this.sweepIfDue())
        .catch((err: unknown) => withLogContext({ jobId: 'token-sweep' }, () => this.deps.log.warn('token sweep failed', { reason: errorMessage(err) })))
        .finally(() => this.schedule(this.tickMs));
    }, delayMs);
    this.timer.unref();
  }

  /** Sweeps when no process has within the interval; null when another holds the mark. */
  async sweepIfDue(): Promise<SweepReport | null> {
    const holder = randomBytes(12).toString('base64url');
    const taken = await this.deps.redis.set(this.key, holder, 'PX', LEASE_MS, 'NX');
    if (taken !== 'OK') return null;
    // Every line of one sweep carries its id, like a queue job's lines carry theirs.
    return withLogContext({ jobId: `token-sweep:${holder.slice(0, 8)}` }, () => this.sweep(holder));
  }

  private async sweep(holder: string): Promise<SweepReport> {
    const started = Date.now();
    const report: SweepReport = {};
    try {
      const all = await this.deps.connections.list(ALL_TENANTS);
      for (const conn of all) {
        if (this.stopped) break;
        if (!this.deps.checker.canCheck(conn)) continue;
        try {
          const result = await this.deps.checker.check(conn, 'job');
          report[result.outcome] = (report[result.outcome] ?? 0) + 1;
        } catch (err) {
          // One connection's failure (e.g. a database hiccup on its write) must not stop the others.
          report.error = (report.error ?? 0) + 1;
          this.deps.log.warn('token check failed', { connectionId: conn.id, reason: errorMessage(err) });
        }
        await this.deps.redis.eval(EXTEND_IF_OURS, 1, this.key, holder, String(LEASE_MS));
      }
    } finally {
      // Done (or stopped): the mark stays until one interval after the start, so no process sweeps again sooner.
      // A stopped sweep leaves it to its lease instead, so another process picks the rest up soon.
      const rest = this.stopped ? LEASE_MS : Math.max(1, this.deps.intervalMs - (Date.now() - started));
      await this.deps.redis.eval(EXTEND_IF_OURS, 1, this.key, holder, String(rest)).catch(() => undefined);
    }
    const changed = Object.entries(report).some(([k, n]) => k !== 'ok' && k !== 'skipped' && (n ?? 0) > 0);
    this.deps.log[changed ? 'info' : 'debug']('token sweep done', { ...report, ms: Date.now() - started });
    return report;
  }
}
