/**
 * The small error taxonomy. Every failure inside a job is one of these two, decided once where the error is
 * understood (the Graph client, the Chatwoot client), and handled in one place (the queue processors).
 */

/** Can succeed later: network, 5xx, rate limits. The queue retries with backoff, honouring retryAfterMs. */
export class RetryableError extends Error {
  override name = 'RetryableError';
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

export function isRetryable(err: unknown): boolean {
  return !(err instanceof PermanentError);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
