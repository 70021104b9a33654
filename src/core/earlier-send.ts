/**
 * Before a tagged part is sent on a retry: did an earlier attempt already reach Meta?
 *
 * Graph has no idempotency key, so a send whose answer was lost (the process was killed, the connection cut, the
 * request timed out) may or may not have gone out. Meta settles it: the part's status webhook carries its send
 * tag (src/core/send-tags.ts), and the webhook edge notes it in the SendLedger. So a retry:
 * - finds Meta's id for the tag: the part went out; it is recorded, not sent again;
 * - finds no attempt noted (none made, or Graph answered that it refused it): sends;
 * - finds an attempt and no id yet: waits for Meta's status, first in place (a status is usually seconds away),
 *   then through the queue, until `waitMs` after that attempt; then sends again. Past that point a status that
 *   never came is taken to mean the part never went out: the only case left where a customer could get it twice
 *   is Meta sending no status webhook for minutes (an outage on Meta's side, or this bridge unreachable).
 */
import type { SendLedger } from '../queue/send-ledger';
import type { Logger } from '../log/logger';
import { setTimeout as delay } from 'node:timers/promises';
import { RetryableError } from './errors';

export interface EarlierSendSettings {
  /** How long after a send with no answer its status is waited for before the part is sent again (0: never). */
  waitMs: number;
  /** How long one attempt waits in place, polling, before handing back to the queue (keep it well under the claim lease). */
  pollMs: number;
  pollEveryMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Told what a retry found when an earlier try of its part had no answer (metrics). */
  observe?: (outcome: 'found_sent' | 'waiting' | 'resent') => void;
}

/** Meta's id when an earlier attempt sent this part; undefined when it may be sent; throws RetryableError to wait. */
export async function earlierSendOf(ledger: SendLedger, connectionId: string, tag: string, settings: EarlierSendSettings, log: Logger): Promise<string | undefined> {
  const now = settings.now ?? Date.now;
  const sleep = settings.sleep ?? delay;
  const found = (externalId: string) => { settings.observe?.('found_sent'); return externalId; };
  let seen = await ledger.lookup(connectionId, tag);
  if (seen.externalId) return found(seen.externalId);
  if (seen.attemptedAt === undefined) return undefined;
  if (settings.waitMs <= 0) {
    settings.observe?.('resent');
    return undefined;
  }
  const waitUntil = seen.attemptedAt + settings.waitMs;
  const pollUntil = Math.min(waitUntil, now() + settings.pollMs);
  while (now() < pollUntil) {
    await sleep(Math.min(settings.pollEveryMs ?? 500, Math.max(1, pollUntil - now())));
    seen = await ledger.lookup(connectionId, tag);
    if (seen.externalId) return found(seen.externalId);
    // Settled meanwhile: Graph's answer was a refusal after all (only this lane's worker writes the ledger).
    if (seen.attemptedAt === undefined) return undefined;
  }
  const left = waitUntil - now();
  if (left > 0) {
    settings.observe?.('waiting');
    throw new RetryableError(`an earlier try may have reached Meta before its answer was lost; waiting up to ${Math.ceil(left / 1000)} s more for Meta's status before sending the part again`, Math.min(left, 30_000));
  }
  settings.observe?.('resent');
  log.warn('no status from Meta for a part whose send had no answer; sending it again', { waitedMs: settings.waitMs });
  return undefined;
}
