/**
 * Component-test harness: the real bridge (in process) on a random port, real Redis and MongoDB-wire server
 * (from test/run-tests.sh), the Graph and Chatwoot fakes over real HTTP, and one WhatsApp connection.
 * Every harness gets its own database and Redis key prefix, so test files share the servers safely.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Bridge } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { signMetaBody } from '../../src/channels/meta/signature';
import { startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeChatwoot, type FakeChatwoot } from '../fakes/chatwoot';
import { requireServices, uniqueDbName, uniqueRedisPrefix } from './env';

export const APP_SECRET = 'test-app-secret-0123456789';
export const VERIFY_TOKEN = 'test-verify-token-0123';
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const GRAPH_VERSION = 'v26.0';
export const PHONE_NUMBER_ID = '106540352242922';
export const META_TOKEN = 'EAAG-test-meta-token-abcdefghijklmnop';
export const CHATWOOT_TOKEN = 'cw-agent-token-abcdefghijkl';
export const ACCOUNT_ID = 1;

export function newFernetKey(): string {
  return randomBytes(32).toString('base64url') + '=';
}

export function withDb(mongoUri: string, db: string): string {
  const url = new URL(mongoUri);
  url.pathname = `/${db}`;
  return url.toString();
}

export interface HarnessOptions {
  env?: Record<string, string>;
  redisUrl?: string;
  /** Skip creating the bridge in-process (tests that run it as a child process). */
  inProcess?: boolean;
}

export interface Harness {
  bridge?: Bridge;
  baseUrl: string;
  env: Record<string, string>;
  graph: FakeGraph;
  chatwoot: FakeChatwoot;
  inboxId: number;
  /** The inbox's webhook signing secret (Chatwoot ≥ 4.13). */
  inboxSecret: string;
  connectionId: string;
  logs: string[];
  postWebhook(body: unknown, opts?: { signature?: string | null; raw?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function harnessEnv(opts: { redisUrl?: string; graphUrl: string; extra?: Record<string, string> }): Promise<Record<string, string>> {
  const services = requireServices();
  return {
    REDIS_URL: opts.redisUrl ?? services.redisUrl,
    MONGODB_URI: withDb(services.mongoUri, uniqueDbName('bridge')),
    QUEUE_PREFIX: uniqueRedisPrefix('bridge'),
    META_APP_SECRET: APP_SECRET,
    META_VERIFY_TOKEN: VERIFY_TOKEN,
    META_GRAPH_API_VERSION: GRAPH_VERSION,
    META_GRAPH_BASE_URL: opts.graphUrl,
    // graph.instagram.com: the same fake, under a path prefix (test/fakes/graph/send-api.ts).
    META_INSTAGRAM_GRAPH_BASE_URL: `${opts.graphUrl}/ig-host`,
    ADMIN_API_KEY: ADMIN_KEY,
    ENCRYPTION_KEYS: newFernetKey(),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    QUEUE_BACKOFF_BASE_MS: '100',
    QUEUE_BACKOFF_MAX_MS: '2000',
    QUEUE_LOCK_MS: '3000',
    QUEUE_ENQUEUE_TIMEOUT_MS: '1000',
    ...opts.extra,
  };
}

const testTenants = new Map<string, Promise<string>>();

/** The tenant the tests' connections belong to: one per bridge (base URL), made with the super-admin key. */
export function testTenant(baseUrl: string): Promise<string> {
  let id = testTenants.get(baseUrl);
  if (!id) {
    id = createTenant(baseUrl, 'Test tenant').then((t) => t.id);
    testTenants.set(baseUrl, id);
  }
  return id;
}

export async function createTenant(baseUrl: string, name: string): Promise<{ id: string; apiKey: string }> {
  const res = await fetch(`${baseUrl}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating a tenant answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; apiKey: string };
}

export async function createConnection(baseUrl: string, chatwootUrl: string, inboxId: number, businessId = PHONE_NUMBER_ID, webhookSecret?: string): Promise<string> {
  const res = await fetch(`${baseUrl}/admin/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      tenantId: await testTenant(baseUrl),
      name: 'Test number',
      channel: 'whatsapp',
      businessId,
      wabaId: '102290129340398',
      metaAccessToken: META_TOKEN,
      platform: { kind: 'chatwoot', baseUrl: chatwootUrl, accountId: ACCOUNT_ID, inboxId, apiAccessToken: CHATWOOT_TOKEN, ...(webhookSecret ? { webhookSecret } : {}) },
    }),
  });
  if (res.status !== 201) throw new Error(`creating the connection answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export function signedPost(baseUrl: string, body: unknown, opts: { signature?: string | null; raw?: string } = {}): Promise<Response> {
  const raw = opts.raw ?? JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature = opts.signature === undefined ? signMetaBody(raw, APP_SECRET) : opts.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(`${baseUrl}/webhooks/meta`, { method: 'POST', headers, body: raw });
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const chatwoot = await startFakeChatwoot();
  chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
  const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
  const env = await harnessEnv({ redisUrl: opts.redisUrl, graphUrl: graph.url, extra: opts.env });
  const logs: string[] = [];
  let bridge: Bridge | undefined;
  let baseUrl = '';
  if (opts.inProcess !== false) {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const config: Config = loadConfig(env);
    bridge = new Bridge(config, { logStream: stream, sweepIntervalMs: 500 });
    await bridge.start();
    baseUrl = `http://127.0.0.1:${bridge.port}`;
  }
  // Wired like a real install: the connection knows the inbox's signing secret, the inbox's webhook_url points
  // at the bridge, so every message Chatwoot creates (the bridge's own included) comes back as a webhook.
  const connectionId = baseUrl ? await createConnection(baseUrl, chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined) : '';
  if (connectionId) chatwoot.updateInbox(ACCOUNT_ID, inbox.id, { webhookUrl: `${baseUrl}/webhooks/chatwoot/${connectionId}` });
  return {
    bridge, baseUrl, env, graph, chatwoot, inboxId: inbox.id, inboxSecret: inbox.secret ?? '', connectionId, logs,
    postWebhook: (body, o) => signedPost(baseUrl, body, o),
    async stop() {
      await bridge?.stop();
      await Promise.all([graph.close(), chatwoot.close()]);
    },
  };
}

/** Polls until the check passes or the time is up; the last failure is reported. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw lastErr;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
