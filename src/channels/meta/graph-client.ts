/**
 * A thin Graph API client: base URL and API version come from configuration (never hard-coded in a URL),
 * keep-alive sockets, Bearer auth, and errors mapped once into the retryable/permanent taxonomy.
 */
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { graphErrorFrom, graphErrorLabel } from './graph-errors';
import { retryAfterMs } from '../../core/retry-after';
import { isRetryable, type ErrorObserver } from '../../core/errors';

export interface GraphClientOptions {
  baseUrl: string;
  version: string;
  timeoutMs?: number;
  /** Counts every error Graph answered (or the network gave) as it is classified. */
  onError?: ErrorObserver;
}

function retryAfterOf(headers: unknown): number | undefined {
  const ms = retryAfterMs((headers as Record<string, unknown> | undefined)?.['retry-after']);
  return ms && ms > 0 ? ms : undefined;
}

export class GraphClient {
  readonly http: AxiosInstance;

  constructor(readonly opts: GraphClientOptions) {
    this.http = axios.create({
      baseURL: opts.baseUrl.replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 20_000,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
      maxRedirects: 0,
    });
  }

  /** `/v25.0/<path>`: the only place the version enters a URL. */
  path(p: string): string {
    return `/${this.opts.version}/${p.replace(/^\/+/, '')}`;
  }

  async get<T>(p: string, token: string, params?: Record<string, string>): Promise<T> {
    return this.call<T>(() => this.http.get<T>(this.path(p), { params, headers: { Authorization: `Bearer ${token}` } }));
  }

  async post<T>(p: string, token: string, body: unknown): Promise<T> {
    return this.call<T>(() => this.http.post<T>(this.path(p), body, { headers: { Authorization: `Bearer ${token}` } }));
  }

  async delete<T>(p: string, token: string): Promise<T> {
    return this.call<T>(() => this.http.delete<T>(this.path(p), { headers: { Authorization: `Bearer ${token}` } }));
  }

  async call<T>(fn: () => Promise<{ data: T }>): Promise<T> {
    try {
      return (await fn()).data;
    } catch (err) {
      if (!isAxiosError(err)) throw err;
      const mapped = graphErrorFrom(err.response?.status, err.response?.data, retryAfterOf(err.response?.headers), err.code);
      this.opts.onError?.(graphErrorLabel(err.response?.status, err.response?.data, err.code), isRetryable(mapped));
      throw mapped;
    }
  }
}
