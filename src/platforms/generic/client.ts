/**
 * Delivering one event to a generic platform: a signed POST of the exact bytes, with the event's idempotency
 * key and the schema version. Errors are mapped once: no answer (timeout, refused, reset), 408, 429 and 5xx are
 * retryable (the lanes retry with backoff, sending the same key); any other answer is permanent, with the
 * platform's own words, and the event goes to the dead letters.
 */
import axios, { type AxiosError, type AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { PermanentError, RetryableError, isRetryable, type ErrorObserver } from '../../core/errors';
import type { ConnectionRecord } from '../../store/connections';
import { SCHEMA_VERSION, type BridgeEvent } from './events';
import { SIGNATURE_HEADER, bridgeSignatureHeader } from './signature';
import { retryAfterMs } from '../../core/retry-after';

export const HEADERS = {
  signature: SIGNATURE_HEADER,
  idempotencyKey: 'Idempotency-Key',
  schemaVersion: 'X-Bridge-Schema-Version',
  event: 'X-Bridge-Event',
  connection: 'X-Bridge-Connection',
} as const;

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 128 });

function excerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
  return text.replace(/\s+/g, ' ').trim().slice(0, 200) || 'no details';
}

/** Scheme, host and path: never the query (it may carry a token) nor credentials. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the platform URL';
  }
}

export class GenericPlatformClient {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: { timeoutMs: number; userAgent: string; now?: () => number; onError?: ErrorObserver }) {
    this.http = axios.create({ timeout: opts.timeoutMs, httpAgent, httpsAgent, maxRedirects: 0 });
  }

  async send(conn: ConnectionRecord<'generic'>, event: BridgeEvent): Promise<void> {
    const raw = Buffer.from(JSON.stringify(event), 'utf8');
    const t = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    const what = `platform POST ${where(conn.platform.url)} (${event.type})`;
    try {
      await this.http.post(conn.platform.url, raw, {
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': this.opts.userAgent,
          [HEADERS.signature]: bridgeSignatureHeader(conn.platform.signingSecret, t, raw),
          [HEADERS.idempotencyKey]: event.id,
          [HEADERS.schemaVersion]: String(SCHEMA_VERSION),
          [HEADERS.event]: event.type,
          [HEADERS.connection]: conn.id,
        },
        // The bytes signed are the bytes sent: no transformation.
        transformRequest: [(data: unknown) => data],
        responseType: 'text',
        validateStatus: (status) => status >= 200 && status < 300,
      });
    } catch (err) {
      if (!isAxiosError(err)) throw err;
      const mapped = this.classify(err, what);
      this.opts.onError?.(String(err.response?.status ?? err.code ?? 'network'), isRetryable(mapped));
      throw mapped;
    }
  }

  /** No answer, 408, 429 and 5xx → retryable; any other answer → permanent, with the platform's own words. */
  private classify(err: AxiosError, what: string): Error {
    const status = err.response?.status;
    if (status === undefined) {
      const why = err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT' ? `no answer within ${this.opts.timeoutMs} ms` : (err.code ?? 'network error');
      return new RetryableError(`${what}: ${why}`, undefined, err.code);
    }
    const detail = excerpt(err.response?.data);
    if (status === 429) return new RetryableError(`${what}: 429 ${detail}`, retryAfterMs(err.response?.headers['retry-after']), 429);
    if (status === 408 || status >= 500) return new RetryableError(`${what}: ${status} ${detail}`, retryAfterMs(err.response?.headers['retry-after']), status);
    if (status >= 300 && status < 400) return new PermanentError(`${what}: ${status} redirect not followed; configure the final URL`, status);
    return new PermanentError(`${what}: ${status} ${detail}`, status);
  }
}
