/**
 * HTTP client for Chatwoot's Application API (header api_access_token). One axios instance per connection with
 * keep-alive sockets; errors mapped once: 429/5xx/network → retryable (honouring Retry-After), 404 → NotFound
 * (callers drop stale cached ids), anything else → permanent with Chatwoot's own words.
 */
import axios, { type AxiosError, type AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { PermanentError, RetryableError, isRetryable, type ErrorObserver } from '../../core/errors';
import { retryAfterMs } from '../../core/retry-after';

export class ChatwootNotFound extends PermanentError {
  override name = 'ChatwootNotFound';
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 128 });

function describe(body: unknown): string {
  if (typeof body === 'string') return body.trim().slice(0, 200);
  const b = body as { error?: unknown; message?: unknown } | undefined;
  return String(b?.error ?? b?.message ?? 'no details').slice(0, 200);
}

export interface ChatwootTarget {
  baseUrl: string;
  accountId: number;
  apiToken: string;
}

export class ChatwootClient {
  private readonly http: AxiosInstance;

  constructor(target: ChatwootTarget, timeoutMs: number, private readonly onError?: ErrorObserver) {
    this.http = axios.create({
      baseURL: `${target.baseUrl.replace(/\/+$/, '')}/api/v1/accounts/${target.accountId}`,
      timeout: timeoutMs,
      headers: { api_access_token: target.apiToken },
      httpAgent,
      httpsAgent,
      maxRedirects: 0,
    });
  }

  async request<T>(method: 'get' | 'post' | 'patch' | 'delete', path: string, data?: unknown): Promise<T> {
    try {
      const res = await this.http.request<T>({ method, url: path, data });
      return res.data;
    } catch (err) {
      if (!isAxiosError(err)) throw err;
      const mapped = this.classify(err, method, path);
      this.onError?.(String(err.response?.status ?? err.code ?? 'network'), isRetryable(mapped));
      throw mapped;
    }
  }

  /** 429/5xx/network → retryable (honouring Retry-After), 404 → NotFound, anything else → permanent. */
  private classify(err: AxiosError, method: string, path: string): Error {
    const status = err.response?.status;
    const what = `Chatwoot ${method.toUpperCase()} ${path.replace(/\d{6,}/g, '…')}`;
    if (status === undefined) return new RetryableError(`${what}: ${err.code ?? 'network error'}`, undefined, err.code);
    const detail = describe(err.response?.data);
    if (status === 429) return new RetryableError(`${what}: 429 rate limited`, retryAfterMs(err.response?.headers['retry-after']), 429);
    if (status >= 500) return new RetryableError(`${what}: ${status} ${detail}`, undefined, status);
    if (status === 404) return new ChatwootNotFound(`${what}: 404 ${detail}`, 404);
    // The per-conversation flood guard clears within a minute.
    if (status === 422 && /too many messages/i.test(detail)) return new RetryableError(`${what}: ${detail}`, 20_000, 422);
    return new PermanentError(`${what}: ${status} ${detail}`, status);
  }

  get<T>(path: string): Promise<T> { return this.request<T>('get', path); }
  post<T>(path: string, body: unknown): Promise<T> { return this.request<T>('post', path, body); }
  patch<T>(path: string, body: unknown): Promise<T> { return this.request<T>('patch', path, body); }
}
