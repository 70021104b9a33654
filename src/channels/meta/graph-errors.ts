/**
 * Graph API error mapping, shared by WhatsApp, Messenger and Instagram. Meta says to build logic on `code`
 * (+ error_data.details), not on the HTTP status or subcode. The classification below is ours, from Meta's
 * error-code reference (see the README's troubleshooting table).
 */
import { PermanentError, RetryableError } from '../../core/errors';

export interface GraphErrorBody {
  error?: {
    message?: string;
    type?: string;
    code?: number;
    error_subcode?: number;
    error_data?: { details?: string };
    is_transient?: boolean;
    fbtrace_id?: string;
  };
}

/** Codes worth retrying: throttling and temporary failures on Meta's side. */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 131057, 133004]);

/** Codes that mean the token is no good: the connection needs re-authorisation. */
export const AUTH_ERROR_CODES = new Set([190]);

export class GraphApiError extends PermanentError {
  override name = 'GraphApiError';
  constructor(message: string, readonly graphCode: number | undefined, readonly httpStatus: number | undefined, readonly subcode?: number) {
    super(message, graphCode);
  }
}

export class GraphRetryableError extends RetryableError {
  override name = 'GraphRetryableError';
  /** Meta's error_subcode, when it sent one (Messenger: 2018278 outside the window…). */
  subcode?: number;
}

/** Network errors that mean the request never reached Graph: the connection was not made. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A metrics label: Meta's error code when it sent one, else `http_<status>`, else the network error's name. */
export function graphErrorLabel(httpStatus: number | undefined, body: unknown, networkCode?: string): string {
  const code = (body as GraphErrorBody | undefined)?.error?.code;
  if (typeof code === 'number') return String(code);
  if (httpStatus !== undefined) return `http_${httpStatus}`;
  return networkCode ?? 'network';
}

export function graphErrorFrom(httpStatus: number | undefined, body: unknown, retryAfterMs?: number, networkCode?: string): Error {
  const err = (body as GraphErrorBody | undefined)?.error;
  const code = err?.code;
  const text = `Graph ${httpStatus ?? `network${networkCode ? ` ${networkCode}` : ''}`}${code !== undefined ? ` code ${code}` : ''}: ${err?.error_data?.details ?? err?.message ?? 'no details'}`;
  const subcode = typeof err?.error_subcode === 'number' ? err.error_subcode : undefined;
  const retryable = (): GraphRetryableError => Object.assign(new GraphRetryableError(text, retryAfterMs, code), {
    subcode,
    // No answer, though the connection was made (a timeout, a cut connection): Graph may have carried it out.
    ...(httpStatus === undefined && !NEVER_SENT.has(networkCode ?? '') ? { unanswered: true } : {}),
  });
  if (httpStatus === undefined || httpStatus >= 500 || httpStatus === 429) return retryable();
  if (code !== undefined && (RETRYABLE_CODES.has(code) || err?.is_transient === true)) return retryable();
  return new GraphApiError(text, code, httpStatus, subcode);
}
