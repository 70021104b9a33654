/**
 * GET for URLs that came from untrusted input (a webhook, a platform's request): the host must be allowed for
 * that source (host-rules.ts); a host not configured by an operator must resolve to public addresses only
 * (checked on the address actually connected to, so DNS cannot swap in an internal one after the check);
 * redirects are followed by hand, each hop checked again, and credentials never follow a hop to another origin;
 * the whole exchange, every hop and the body included, has one time limit, and the body a size limit.
 */
import axios, { type AxiosResponse, isAxiosError, isCancel } from 'axios';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from './address-ranges';
import { matchRule, type HostPolicy } from './host-rules';

/** The URL may not be fetched: its scheme, host or address is not allowed for its source. Permanent. */
export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
}

/** The code a refused DNS answer carries through the HTTP client. */
const REFUSED_ADDRESS = 'EBRIDGE_REFUSED_ADDRESS';

/** Resolves as usual, then refuses when any address is not public (all of them are checked: one bad is enough). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) { callback(err, ''); return; }
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) {
      callback(Object.assign(new Error(`${hostname} resolves to an internal address`), { code: REFUSED_ADDRESS }), '');
      return;
    }
    // Node asks for every address (all: true) when it races IPv4 and IPv6 (autoSelectFamily), else for one.
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

const agents = {
  /** Hosts an operator configured (they may be internal). */
  trusted: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
  /** Everything else: public addresses only. */
  guarded: { http: new http.Agent({ keepAlive: true, lookup: publicOnlyLookup }), https: new https.Agent({ keepAlive: true, lookup: publicOnlyLookup }) },
};

export interface SafeGetOptions {
  policy: HostPolicy;
  responseType: 'arraybuffer' | 'stream';
  /** Sent to the first URL's origin only (a Bearer token): dropped when a redirect leaves that origin. */
  headers?: Record<string, string>;
  maxBytes: number;
  /** For everything: every hop, and the whole body (a stream is cut when it runs out). */
  timeoutMs: number;
  maxRedirects: number;
}

export type SafeResponse<T> = AxiosResponse<T> & { finalUrl: string };

/** Checks one hop. Returns whether it goes to an operator-configured (trusted) host. */
function checkHop(url: URL, policy: HostPolicy, isRedirect: boolean): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError(`${url.protocol.replace(/:$/, '')} links are not fetched`);
  if (url.username || url.password) throw new UnsafeUrlError('links with credentials in them are not fetched');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const rule = matchRule(url, policy.rules);
  if (!rule && (!isRedirect || policy.offListRedirects === 'refuse')) {
    throw new UnsafeUrlError(`${host} is not one of ${policy.label}${isRedirect ? ' (reached by a redirect)' : ''}`);
  }
  const trusted = rule?.trusted === true;
  // An IP literal is connected to without a DNS lookup, so the address check happens here.
  if (!trusted && isIP(host) !== 0 && !isPublicAddress(host)) throw new UnsafeUrlError(`${host} is an internal address`);
  return trusted;
}

function destroyBody(res: AxiosResponse): void {
  const data = res.data as { destroy?: () => void } | undefined;
  if (data && typeof data.destroy === 'function') data.destroy();
}

/**
 * GET with the checks above. Answers other than 2xx reject as axios does (an AxiosError with the response), so
 * callers read statuses as before; a refused hop rejects with UnsafeUrlError before anything is sent there.
 */
export async function safeGet<T>(rawUrl: string, opts: SafeGetOptions): Promise<SafeResponse<T>> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UnsafeUrlError('not a valid link');
  }
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let headers = opts.headers;
  for (let hop = 0; ; hop++) {
    const trusted = checkHop(url, opts.policy, hop > 0);
    const pool = trusted ? agents.trusted : agents.guarded;
    let res: AxiosResponse<T>;
    try {
      res = await axios.get<T>(url.href, {
        responseType: opts.responseType,
        headers,
        maxRedirects: 0,
        maxContentLength: opts.responseType === 'arraybuffer' ? opts.maxBytes : -1,
        timeout: opts.timeoutMs,
        signal,
        proxy: false,
        httpAgent: pool.http,
        httpsAgent: pool.https,
        validateStatus: (status) => status >= 200 && status < 400,
      });
    } catch (err) {
      if (isAxiosError(err) && (err.code === REFUSED_ADDRESS || (err.cause as { code?: string } | undefined)?.code === REFUSED_ADDRESS)) {
        throw new UnsafeUrlError(`${url.hostname} resolves to an internal address`);
      }
      if (isCancel(err) && signal.aborted) throw Object.assign(new Error(`no complete answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw err;
    }
    if (res.status < 300) return Object.assign(res, { finalUrl: url.href });
    destroyBody(res);
    const location = res.headers.location;
    if (typeof location !== 'string' || location === '') throw new UnsafeUrlError(`answered ${res.status} without a Location to follow`);
    if (hop >= opts.maxRedirects) throw new UnsafeUrlError(`more than ${opts.maxRedirects} redirects`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new UnsafeUrlError(`answered ${res.status} with a Location that is not a valid link`);
    }
    // Credentials are for the origin they were given for; a redirect elsewhere goes without them, for good.
    if (next.origin !== url.origin) headers = undefined;
    url = next;
  }
}
