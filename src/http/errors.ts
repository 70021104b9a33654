/**
 * HTTP errors: one code enum, one code → status map, one middleware. Route handlers throw HttpError; nothing
 * else writes an error response.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../log/logger';

export const ERROR_STATUS = {
  bad_signature: 401,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  malformed_body: 400,
  invalid_request: 400,
  body_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  queue_unavailable: 503,
  shutting_down: 503,
  upstream_failed: 502,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HttpError extends Error {
  /** Seconds for a Retry-After header (429). */
  retryAfterS?: number;

  constructor(readonly code: ErrorCode, message: string, readonly details?: unknown) {
    super(message);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** Maps body-parser's own errors (size, encoding) into our codes. */
function fromParserError(err: { type?: string; status?: number }): HttpError | undefined {
  if (err.type === 'entity.too.large') return new HttpError('body_too_large', 'request body is over the size limit');
  if (err.type === 'entity.parse.failed') return new HttpError('malformed_body', 'request body is not valid JSON');
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') return new HttpError('unsupported_media_type', 'unsupported body encoding');
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) return new HttpError('invalid_request', 'bad request');
  return undefined;
}

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpErr = err instanceof HttpError ? err : fromParserError(err as { type?: string; status?: number });
    if (!httpErr) {
      log.error('unhandled error', { err, path: req.path, requestId: res.locals.requestId });
      res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
      return;
    }
    if (httpErr.status >= 500) log.warn('request refused', { code: httpErr.code, path: req.path, requestId: res.locals.requestId });
    const retryAfter = httpErr.code === 'queue_unavailable' || httpErr.code === 'shutting_down'
      ? { 'Retry-After': '5' }
      : httpErr.retryAfterS !== undefined ? { 'Retry-After': String(httpErr.retryAfterS) } : {};
    res.status(httpErr.status).set(retryAfter).json({ error: { code: httpErr.code, message: httpErr.message, details: httpErr.details } });
  };
}
