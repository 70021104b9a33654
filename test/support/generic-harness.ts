/**
 * Component-test harness for the generic HTTP platform: the real bridge (in process) on a random port, real
 * Redis and MongoDB-wire server, the Graph fake and the generic-platform fake over real HTTP, and one WhatsApp
 * connection whose platform is the fake. Built from the same pieces as harness.ts (Chatwoot).
 */
import { PassThrough } from 'node:stream';
import { Bridge } from '../../src/app';
import { loadConfig } from '../../src/config';
import { startFakeGraph, type FakeGraph } from '../fakes/graph';
import { startFakeGenericPlatform, type FakeGenericPlatform } from '../fakes/generic-platform';
import { ADMIN_KEY, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, harnessEnv, signedPost, testTenant } from './harness';
import { freePort } from './processes';

export const SIGNING_SECRET = 'whsec_test-signing-secret-0123456789abcdef';

export interface GenericConnection {
  id: string;
  apiKey: string;
  /** Set when the bridge generated it (none was given). */
  signingSecret?: string;
  body: Record<string, any>;
}

export async function createGenericConnection(baseUrl: string, platformUrl: string, opts: { businessId?: string; signingSecret?: string } = {}): Promise<GenericConnection> {
  const res = await fetch(`${baseUrl}/admin/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      tenantId: await testTenant(baseUrl),
      name: 'Generic CRM',
      channel: 'whatsapp',
      businessId: opts.businessId ?? PHONE_NUMBER_ID,
      metaAccessToken: META_TOKEN,
      platform: { kind: 'generic', url: platformUrl, ...(opts.signingSecret ? { signingSecret: opts.signingSecret } : {}) },
    }),
  });
  if (res.status !== 201) throw new Error(`creating the connection answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as Record<string, any>;
  return { id: body.id, apiKey: body.platform.apiKey, signingSecret: body.platform.signingSecret, body };
}

export interface GenericHarness {
  bridge: Bridge;
  baseUrl: string;
  env: Record<string, string>;
  graph: FakeGraph;
  platform: FakeGenericPlatform;
  connectionId: string;
  apiKey: string;
  logs: string[];
  postWebhook(body: unknown): Promise<Response>;
  /** POST /platform/v1/messages with the connection's API key (or the one given). */
  postReply(body: unknown, apiKey?: string | null): Promise<Response>;
  stop(): Promise<void>;
}

export async function startGenericHarness(opts: { env?: Record<string, string> } = {}): Promise<GenericHarness> {
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const platform = await startFakeGenericPlatform({ secret: SIGNING_SECRET });
  // Media links name the bridge's public URL, so the port is chosen before the bridge starts.
  const port = await freePort();
  const env = await harnessEnv({
    graphUrl: graph.url,
    extra: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, GENERIC_PLATFORM_TIMEOUT_MS: '1000', ...opts.env },
  });
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const bridge = new Bridge(loadConfig(env), { logStream: stream, sweepIntervalMs: 500 });
  await bridge.start();
  const baseUrl = `http://127.0.0.1:${bridge.port}`;
  const conn = await createGenericConnection(baseUrl, platform.eventsUrl, { signingSecret: SIGNING_SECRET });
  const postReply = (body: unknown, apiKey: string | null = conn.apiKey) => fetch(`${baseUrl}/platform/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }) },
    body: JSON.stringify(body),
  });
  return {
    bridge, baseUrl, env, graph, platform, connectionId: conn.id, apiKey: conn.apiKey, logs,
    postWebhook: (body) => signedPost(baseUrl, body),
    postReply,
    async stop() {
      await bridge.stop();
      await Promise.all([graph.close(), platform.close()]);
    },
  };
}
