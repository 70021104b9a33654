/**
 * Retry delays: exponential from a base, capped, with full jitter so retries of many jobs do not arrive in
 * step; a Retry-After the remote side gave wins (plus a little jitter).
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export interface RetryHint {
  retryAfterMs?: number;
  /** Which attempt of the event just failed (1-based); falls back to Bull's attemptsMade. */
  eventAttempt?: number;
}

export function retryDelayMs(policy: BackoffPolicy, attempt: number, hint: RetryHint = {}, random = Math.random): number {
  if (hint.retryAfterMs !== undefined) return Math.min(policy.maxMs, hint.retryAfterMs + Math.floor(random() * 250));
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(exp / 2 + random() * (exp / 2));
}

export const BACKOFF_NAME = 'bridge';

/** The function Bull calls (settings.backoffStrategies[BACKOFF_NAME]). */
export function bullBackoffStrategy(policy: BackoffPolicy) {
  return (attemptsMade: number, err: Error & RetryHint): number =>
    retryDelayMs(policy, err?.eventAttempt ?? attemptsMade, { retryAfterMs: err?.retryAfterMs });
}
