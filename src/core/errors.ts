/**
 * The small error taxonomy. Every failure inside a job is one of these two, decided once where the error is
 * understood (the Graph client, the Chatwoot client), and handled in one place (the queue processors).
 */

/** Can succeed later: network, 5xx, rate limits. The queue retries with backoff, honouring retryAfterMs. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  /** No answer came, though the request may have been sent (a timeout, a cut connection): see mayHaveBeenCarriedOut. */
  unanswered?: boolean;
  constructor(message: string, readonly retryAfterMs?: number, readonly code?: string | number) {
    super(message);
  }
}

/** Cannot succeed by retrying: the job stops and the reason is shown where people look. */
export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(message: string, readonly code?: string | number) {
    super(message);
  }
}

/**
 * Told of each error a client classified, for counting: a short code that names it (bounded: an API's error
 * code or HTTP status, or a network error name) and whether it will be retried.
 */
export type ErrorObserver = (code: string, retryable: boolean) => void;

/**
 * Whether a failed call may still have been carried out by the remote side. An answer (even a 5xx) or a
 * PermanentError says it was not; a RetryableError says so when the client marked it `unanswered`. Anything else
 * counts as "maybe": for a send that only costs a wait for Meta's status (OutboundRelay), never a second copy.
 */
export function mayHaveBeenCarriedOut(err: unknown): boolean {
  if (err instanceof PermanentError) return false;
  if (err instanceof RetryableError) return err.unanswered === true;
  return true;
}

export function isRetryable(err: unknown): boolean {
  return !(err instanceof PermanentError);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
