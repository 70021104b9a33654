/**
 * A write that must not be lost because something irreversible already happened: Graph accepted a send, and it
 * has no idempotency key, so the record of that send is the only thing that stops a retry from sending it again.
 * A failed write here is retried in place, with backoff, at least five times and for a bounded time. No other worker
 * takes the reply over meanwhile: its lane has one drain job, whose Bull lock this process keeps renewing. Only if
 * the database stays away longer does the error go up (and the reply may then be sent twice; the log says so).
 *
 * The chaos run showed why: with two bridges on FerretDB, "database is locked (SQLITE_BUSY)" after the send made
 * 30 of 2,000 replies arrive twice; bounded by time alone (20 s) it still let 35 through, because on that busy
 * database the first try alone took longer than that.
 */
import type { Logger } from '../log/logger';
import { setTimeout as pause } from 'node:timers/promises';
import { errorMessage } from './errors';

export interface PersistOptions {
  /** Give up after this long (ms), but not before `minTries`: one try may itself take most of it on a busy database. */
  withinMs: number;
  /** Tries made whatever the time (default 5). */
  minTries?: number;
  /** First pause between tries (ms); it doubles, up to 2 s. */
  firstDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const MAX_DELAY_MS = 2_000;

export async function persistAfterSend<T>(write: () => Promise<T>, what: string, log: Logger, opts: PersistOptions): Promise<T> {
  const sleep = opts.sleep ?? pause;
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.withinMs;
  let delay = opts.firstDelayMs ?? 100;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= (opts.minTries ?? 5) && now() + delay > deadline) {
        log.error(`${what}: could not be written after ${attempt} tries; a retry may repeat what was already done`, { reason: errorMessage(err) });
        throw err;
      }
      if (attempt === 1) log.warn(`${what}: write failed after the send; trying again`, { reason: errorMessage(err) });
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
