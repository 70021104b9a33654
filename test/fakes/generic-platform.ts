/**
 * A fake generic CRM (DSK-style) over real HTTP on 127.0.0.1 (random port): it receives the bridge's events,
 * checks every signature with the reference verifier below (written from the contract, not from the bridge's
 * code), records every attempt and every accepted event, dedupes by Idempotency-Key as the contract asks, and
 * can be told to fail (status, or a slow answer) for the next N requests.
 */
import express from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FailureQueue, listen } from './http-fake';

export type SignatureVerdict = 'ok' | 'missing' | 'malformed' | 'stale' | 'mismatch';

/**
 * The reference verifier for `X-Bridge-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`:
 * the MAC over the raw bytes, compared in constant time against every v1 entry, and the timestamp within
 * `toleranceS` of now (either way).
 */
export function verifyBridgeSignature(raw: Buffer | string, header: string | undefined, secret: string, toleranceS = 300, nowS = Date.now() / 1000): SignatureVerdict {
  if (!header) return 'missing';
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return 'malformed';
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
    else if (key === 'v1') candidates.push(value);
  }
  if (t === undefined || !Number.isFinite(t) || candidates.length === 0) return 'malformed';
  if (Math.abs(nowS - t) > toleranceS) return 'stale';
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.`).update(raw).digest('hex'), 'utf8');
  const match = candidates.some((c) => {
    const given = Buffer.from(c, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? 'ok' : 'mismatch';
}

/** The bridge's event as received (the contract's shape; tests read it loosely). */
export interface ReceivedEvent {
  schema_version: number;
  id: string;
  type: 'message' | 'reaction' | 'edit' | 'delete' | 'status' | 'contact' | 'contact.erase';
  occurred_at: string;
  connection_id: string;
  channel: string;
  conversation_id: string;
  data: Record<string, any>;
}

export interface ReceivedAttempt {
  idempotencyKey?: string;
  event?: string;
  schemaVersion?: string;
  connection?: string;
  signature?: string;
  userAgent?: string;
  contentType?: string;
  verdict: SignatureVerdict;
  raw: string;
  /** What the fake answered. */
  status: number;
  at: number;
}

export interface FailResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer this late (to outlast the bridge's timeout). */
  delayMs?: number;
}

export interface FakeGenericPlatform {
  readonly url: string;
  /** Where the bridge should POST events (the connection's platform URL). */
  readonly eventsUrl: string;
  secret: string;
  /** Every request, in arrival order, whatever the answer. */
  readonly attempts: ReceivedAttempt[];
  /** Events accepted (2xx), once per Idempotency-Key, in arrival order. */
  readonly events: ReceivedEvent[];
  /** Requests that repeated an Idempotency-Key already accepted (answered 200, not recorded again). */
  duplicates: number;
  failNext(times: number, response: FailResponse): void;
  eventsOf(type: ReceivedEvent['type']): ReceivedEvent[];
  /** The most advanced status reported for one of the platform's messages, with its reason. */
  statusOf(messageId: string): { status?: string; reason?: string };
  /** Serves a file at <url>/files/<name> (an agent's attachment the bridge downloads); returns its URL. */
  serveFile(name: string, bytes: Buffer, mimeType: string): string;
  /** GET a URL (a media link) and return the status, headers and bytes. */
  download(url: string): Promise<{ status: number; headers: Headers; bytes: Buffer }>;
  reset(): void;
  close(): Promise<void>;
}

const STATUS_RANK: Record<string, number> = { sent: 1, delivered: 2, read: 3, failed: 4 };

export async function startFakeGenericPlatform(opts: { secret: string; toleranceS?: number; path?: string }): Promise<FakeGenericPlatform> {
  const path = opts.path ?? '/bridge/events';
  const attempts: ReceivedAttempt[] = [];
  const events: ReceivedEvent[] = [];
  const accepted = new Set<string>();
  const failures = new FailureQueue<FailResponse>();
  const state = { secret: opts.secret, duplicates: 0 };
  const files = new Map<string, { bytes: Buffer; mimeType: string }>();

  const app = express();
  app.disable('x-powered-by');
  app.post(path, express.raw({ type: () => true, limit: '5mb' }), async (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const attempt: ReceivedAttempt = {
      idempotencyKey: req.get('idempotency-key'),
      event: req.get('x-bridge-event'),
      schemaVersion: req.get('x-bridge-schema-version'),
      connection: req.get('x-bridge-connection'),
      signature: req.get('x-bridge-signature'),
      userAgent: req.get('user-agent'),
      contentType: req.get('content-type'),
      verdict: verifyBridgeSignature(raw, req.get('x-bridge-signature'), state.secret, opts.toleranceS ?? 300),
      raw: raw.toString('utf8'),
      status: 0,
      at: Date.now(),
    };
    attempts.push(attempt);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      attempt.status = status;
      res.status(status).set(headers).json(body);
    };
    const injected = failures.take(req.path);
    if (injected) {
      if (injected.delayMs) await new Promise((r) => setTimeout(r, injected.delayMs));
      if (injected.status < 200 || injected.status >= 300) {
        answer(injected.status, injected.body ?? { error: `injected ${injected.status}` }, injected.headers);
        return;
      }
    }
    if (attempt.verdict !== 'ok') { answer(401, { error: `signature ${attempt.verdict}` }); return; }
    let event: ReceivedEvent;
    try { event = JSON.parse(attempt.raw) as ReceivedEvent; } catch { answer(400, { error: 'not JSON' }); return; }
    if (!attempt.idempotencyKey || attempt.idempotencyKey !== event.id) { answer(400, { error: 'Idempotency-Key must equal the event id' }); return; }
    if (accepted.has(event.id)) { state.duplicates += 1; answer(200, { ok: true, duplicate: true }); return; }
    accepted.add(event.id);
    events.push(event);
    answer(200, { ok: true });
  });

  app.get('/files/:name', (req, res) => {
    const file = files.get(String(req.params.name));
    if (!file) { res.status(404).end(); return; }
    res.status(200).type(file.mimeType).send(file.bytes);
  });

  const server = await listen(app);
  return {
    url: server.url,
    eventsUrl: `${server.url}${path}`,
    get secret() { return state.secret; },
    set secret(value: string) { state.secret = value; },
    attempts,
    events,
    get duplicates() { return state.duplicates; },
    set duplicates(value: number) { state.duplicates = value; },
    failNext: (times, response) => failures.add(/.*/, times, response),
    eventsOf: (type) => events.filter((e) => e.type === type),
    statusOf(messageId) {
      let best: { status?: string; reason?: string } = {};
      for (const e of events) {
        if (e.type !== 'status' || e.data.message_id !== messageId) continue;
        if ((STATUS_RANK[e.data.status] ?? 0) > (STATUS_RANK[best.status ?? ''] ?? 0)) best = { status: e.data.status, reason: e.data.reason };
      }
      return best;
    },
    serveFile(name, bytes, mimeType) {
      files.set(name, { bytes, mimeType });
      return `${server.url}/files/${encodeURIComponent(name)}`;
    },
    async download(url) {
      const res = await fetch(url);
      return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
    },
    reset() {
      attempts.length = 0;
      events.length = 0;
      accepted.clear();
      failures.clear();
      state.duplicates = 0;
    },
    close: () => server.close(),
  };
}
