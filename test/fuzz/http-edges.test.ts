/**
 * Property-based fuzzing of the HTTP edges: POST /webhooks/meta (signed correctly over whatever bytes are sent),
 * POST /webhooks/chatwoot/:connectionId (signed, Chatwoot ≥ 4.13) and POST /platform/v1/messages (with the
 * connection's API key), each with real payloads mutated every way (test/support/fuzz.ts), broken bytes, deep
 * nesting and odd content types. The app is the bridge's own (createHttpApp with the real routers, body limits,
 * parsers and the real Pipeline writing into real Redis); only the connection lookups are in memory, and requests
 * are injected in process (test/support/inject.ts: real request and response objects, no socket), which keeps
 * 30,000 requests within the fuzz suite's CPU budget. No queue workers run: the edges are what is tested.
 *
 * Every answer must be a documented one: a 2xx, where the delivery is accounted for (a Meta delivery's events were
 * routed or its oddities counted; a platform request was counted as accepted, ignored or invalid), or a 4xx
 * with one of the error codes of src/http/errors.ts. Never a 5xx, an unhandled rejection or a crash.
 * 10,000 cases per edge, fixed seed (FUZZ_SEED to explore others).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import Redis from 'ioredis';
import { createHttpApp } from '../../src/http/server';
import { metaWebhookRouter } from '../../src/http/meta-webhook';
import { chatwootWebhookRouter } from '../../src/http/chatwoot-webhook';
import { platformApiRouter } from '../../src/http/platform-api';
import { ERROR_STATUS } from '../../src/http/errors';
import { signMetaBody } from '../../src/channels/meta/signature';
import { signChatwootBody } from '../../src/platforms/chatwoot/webhook';
import { ChatwootPlatform } from '../../src/platforms/chatwoot';
import { GenericPlatform, conversationKey } from '../../src/platforms/generic';
import { MediaLinks } from '../../src/platforms/generic/media-links';
import { ChannelRegistry } from '../../src/channels/channel';
import { GraphClient } from '../../src/channels/meta/graph-client';
import { MediaDownloader } from '../../src/channels/meta/media';
import { WhatsAppSender } from '../../src/channels/whatsapp/sender';
import { SendApiSender } from '../../src/channels/meta/send-api-sender';
import { whatsappChannel } from '../../src/channels/whatsapp';
import { messengerChannel } from '../../src/channels/messenger';
import { instagramChannel } from '../../src/channels/instagram';
import { Pipeline } from '../../src/queue/pipeline';
import { Sealer } from '../../src/queue/sealed';
import { KeyRing } from '../../src/crypto/keyring';
import { Metrics } from '../../src/metrics';
import { createLogger } from '../../src/log/logger';
import type { ConnectionDirectory } from '../../src/core/connection-directory';
import type { ConnectionRecord } from '../../src/store/connections';
import { requireServices, uniqueRedisPrefix } from '../support/env';
import { inject } from '../support/inject';
import { chatwootCorpus, fuzzParams, metaCorpus, mutatedBytes, mutatedJson, platformRequestCorpus } from '../support/fuzz';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const APP_SECRET = 'fuzz-app-secret-0123456789';
const META_BODY_LIMIT = 150_000;
const PHONE_NUMBER_ID = '106540352242922';
const PAGE_ID = '1063015210542';
const INBOX_ID = 7;
const CHATWOOT_SECRET = 'fuzz-chatwoot-inbox-secret';
const API_KEY = `bk_${randomBytes(24).toString('base64url')}`;
const ERROR_CODES = new Set(Object.keys(ERROR_STATUS));

const chatwootConn = {
  id: 'con_fuzzchatwoot', channel: 'whatsapp', businessId: PHONE_NUMBER_ID, metaToken: 'EAAG-fuzz',
  platform: { kind: 'chatwoot', baseUrl: 'http://127.0.0.1:9', accountId: 1, inboxId: INBOX_ID, apiToken: 'cw-fuzz-token', webhookSecret: CHATWOOT_SECRET },
} as unknown as ConnectionRecord;
const messengerConn = { ...chatwootConn, id: 'con_fuzzmessenger', channel: 'messenger', businessId: PAGE_ID } as unknown as ConnectionRecord;
const genericConn = {
  id: 'con_fuzzgeneric', channel: 'whatsapp', businessId: '106540352242999', metaToken: 'EAAG-fuzz',
  platform: { kind: 'generic', url: 'http://127.0.0.1:9/events', signingSecret: 'whsec_fuzz', apiKeyHash: 'x' },
} as unknown as ConnectionRecord<'generic'>;
const KNOWN_CONVERSATION = conversationKey(genericConn.id, '16505551234');

interface Answer {
  status: number;
  body: unknown;
}

describe('fuzzing the HTTP edges', () => {
  let app: Express;
  let redis: Redis;
  let pipeline: Pipeline;
  let prefix: string;
  const metrics = new Metrics();
  const logs: string[] = [];
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  let lookups = 0;

  before(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    const services = requireServices();
    prefix = uniqueRedisPrefix('fuzz');
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => logs.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const log = createLogger({ level: 'info', stream });
    // Built as the bridge builds them; nothing is sent to Graph (no workers run).
    const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:9', version: 'v26.0' });
    const limits = { maxBytes: 1024, timeoutMs: 100 };
    const media = new MediaDownloader(graph, limits);
    const sendApi = new SendApiSender(limits);
    const channels = new ChannelRegistry([
      whatsappChannel(media, new WhatsAppSender(graph, limits)),
      messengerChannel({ media, sender: sendApi, facebook: graph }),
      instagramChannel({ media, sender: sendApi, facebook: graph, instagram: graph }),
    ]);
    const byBusinessId = new Map([[PHONE_NUMBER_ID, chatwootConn], [PAGE_ID, messengerConn]]);
    const byId = new Map([chatwootConn, messengerConn, genericConn].map((c) => [c.id, c]));
    const directory = {
      byBusinessId: async (_channel: string, businessId: string) => { lookups++; return byBusinessId.get(businessId) ?? null; },
      byId: async (id: string) => byId.get(id) ?? null,
      invalidate: () => undefined,
    } as unknown as ConnectionDirectory;
    const sealer = new Sealer(KeyRing.fromList([`${randomBytes(32).toString('base64url')}=`]));
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
    pipeline = new Pipeline(
      { redisUrl: services.redisUrl, prefix, attempts: 3, lockDurationMs: 30_000, enqueueTimeoutMs: 5_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      {
        channels, directory, relay: {} as never, outbound: {} as never, statuses: {} as never, deadLetters: {} as never, sealer, metrics, log: log.child({ component: 'queue' }), laneRedis: redis,
        onAccessRevoked: async () => ({ connections: 0, disconnected: 0 }),
      },
    );
    await pipeline.drains.isReady();
    // The edge answers 503 until the queue's own connection is ready (right after start-up): wait for it here.
    const queueClient = pipeline.drains.client as unknown as Redis;
    while (queueClient.status !== 'ready') await new Promise((r) => setTimeout(r, 20));
    const chatwoot = new ChatwootPlatform({} as never, 1000);
    const generic = new GenericPlatform({
      client: {} as never,
      mediaLinks: new MediaLinks(sealer, 'http://127.0.0.1:9', 900),
      links: { get: async () => null } as never,
      recipients: { recipientOf: async (_c: string, conversationId: string) => (conversationId === KNOWN_CONVERSATION ? { id: '16505551234', phone: '16505551234' } : null) } as never,
    });
    app = createHttpApp([
      metaWebhookRouter({
        appSecret: APP_SECRET, verifyToken: 'fuzz-verify-token', bodyLimitBytes: META_BODY_LIMIT,
        enqueue: (body, at) => pipeline.enqueueWebhook(body, at), isShuttingDown: () => false, metrics, log: log.child({ component: 'meta-webhook' }),
      }),
      chatwootWebhookRouter({
        connectionById: async (id) => byId.get(id) ?? null,
        parse: (conn, body) => chatwoot.parseRequest(conn, body),
        enqueue: (connectionId, command, commandId, at) => pipeline.enqueueCommand(connectionId, command, commandId, at),
        deliverySeen: (id) => pipeline.deliverySeen(id),
        rememberDelivery: (id) => pipeline.rememberDelivery(id),
        isShuttingDown: () => false, metrics, log: log.child({ component: 'chatwoot-webhook' }),
      }),
      platformApiRouter({
        connectionByApiKey: async (key) => (key === API_KEY ? genericConn : null),
        connectionById: async (id) => byId.get(id) ?? null,
        parse: (conn, body) => generic.parseRequest(conn, body),
        enqueue: (connectionId, command, commandId, at) => pipeline.enqueueCommand(connectionId, command, commandId, at),
        mediaLinks: new MediaLinks(sealer, 'http://127.0.0.1:9', 900),
        openMedia: async () => { throw new Error('not in this test'); },
        openapi: {}, isShuttingDown: () => false, metrics, log: log.child({ component: 'platform-api' }),
      }),
    ], log.child({ component: 'http' }));
  });

  after(async () => {
    await pipeline?.close();
    // The lanes this run filled.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis?.disconnect();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  });

  const post = (path: string, body: Buffer, headers: Record<string, string>): Promise<Answer> => inject(app, { method: 'POST', path, headers, body });

  async function count(counter: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, match: (labels: Record<string, unknown>) => boolean = () => true): Promise<number> {
    return (await counter.get()).values.filter((v) => match(v.labels)).reduce((sum, v) => sum + v.value, 0);
  }

  /** A 4xx with one of our error codes, or fails with what came instead. */
  function documentedRefusal(answer: Answer, allowed: readonly number[]): void {
    assert.ok(allowed.includes(answer.status), `status ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}; last log lines:\n${logs.slice(-3).join('\n').slice(0, 1500)}`);
    const code = (answer.body as { error?: { code?: unknown } })?.error?.code;
    assert.ok(typeof code === 'string' && ERROR_CODES.has(code) && ERROR_STATUS[code as keyof typeof ERROR_STATUS] === answer.status, `error code ${String(code)}`);
  }

  function noCrashes(): void {
    assert.deepEqual(crashes, [], 'no unhandled rejection or exception');
    const unhandled = logs.filter((l) => /unhandled error/.test(l));
    assert.deepEqual(unhandled.slice(0, 3), [], 'no request ended in the unhandled-error path (500)');
  }

  test(`when POST /webhooks/meta gets mutated deliveries and broken bytes, correctly signed (${RUNS} cases), then 200 with everything accounted for, or a documented 4xx`, async () => {
    const corpus = metaCorpus();
    const bodies = [...corpus.whatsapp, ...corpus.messenger, ...corpus.instagram].map((b) => retarget(b));
    const bytes = mutatedBytes(mutatedJson(bodies));
    // Regression (seed 0x5eed2026): an object with a non-callable toString as `object` threw while the edge logged
    // it, and the 503 that became would have made Meta deliver it again forever.
    for (const body of ['{"object":{"toString":{"polluted":0}},"entry":[]}', '{"object":{"toString":1,"valueOf":1}}', '{"object":["page"]}']) {
      const raw = Buffer.from(body);
      const answer = await post('/webhooks/meta', raw, { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) });
      assert.equal(answer.status, 200, body);
    }
    await fc.assert(fc.asyncProperty(bytes, fc.integer({ min: 0, max: 19 }), async (raw, coin) => {
      const wrongSignature = coin === 0;
      const before = { oddities: await count(metrics.oddities), lookups };
      const answer = await post('/webhooks/meta', raw, {
        'content-type': 'application/json',
        'x-hub-signature-256': wrongSignature ? signMetaBody(raw, 'not-the-app-secret') : signMetaBody(raw, APP_SECRET),
      });
      if (answer.status === 200) {
        assert.ok(!wrongSignature, 'a wrong signature was accepted');
        const accounted = (await count(metrics.oddities)) - before.oddities + (lookups - before.lookups);
        assert.ok(accounted >= 1, 'a 200 routes events or counts oddities, never nothing');
      } else {
        documentedRefusal(answer, wrongSignature ? [401, 413] : [400, 413]);
      }
    }), fuzzParams(RUNS));
    noCrashes();
  });

  test(`when POST /webhooks/chatwoot/:id gets mutated webhooks, correctly signed (${RUNS} cases), then 200 counted as accepted, ignored or duplicate, or a documented 4xx`, async () => {
    const bytes = mutatedBytes(mutatedJson(chatwootCorpus()));
    const deliveryIds = fc.option(fc.constantFrom('d-1', 'd-2', 'd-3', 'd-4'), { nil: undefined });
    await fc.assert(fc.asyncProperty(bytes, deliveryIds, async (raw, deliveryId) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const counted = () => count(metrics.webhooks, (l) => l.source === 'chatwoot' && ['accepted', 'ignored', 'duplicate_delivery'].includes(String(l.outcome)));
      const before = await counted();
      const answer = await post(`/webhooks/chatwoot/${chatwootConn.id}`, raw, {
        'content-type': 'application/json',
        'x-chatwoot-timestamp': timestamp,
        'x-chatwoot-signature': signChatwootBody(CHATWOOT_SECRET, timestamp, raw),
        ...(deliveryId ? { 'x-chatwoot-delivery': `${deliveryId}-${prefix}` } : {}),
      });
      if (answer.status === 200) {
        assert.equal((answer.body as { ok?: unknown }).ok, true);
        assert.equal((await counted()) - before, 1, 'counted once');
      } else {
        documentedRefusal(answer, [400, 413]);
      }
    }), fuzzParams(RUNS));
    noCrashes();
  });

  test(`when POST /platform/v1/messages gets mutated requests and odd content types (${RUNS} cases), then 202 queued, or a documented 4xx naming what is wrong`, async () => {
    const bytes = mutatedBytes(mutatedJson(platformRequestCorpus(KNOWN_CONVERSATION)));
    const contentTypes = fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded');
    await fc.assert(fc.asyncProperty(bytes, contentTypes, async (raw, contentType) => {
      const answer = await post('/platform/v1/messages', raw, { 'content-type': contentType, authorization: `Bearer ${API_KEY}` });
      if (answer.status === 202) {
        assert.equal((answer.body as { status?: unknown }).status, 'queued');
        return;
      }
      documentedRefusal(answer, [400, 413, 415]);
      const error = (answer.body as { error: { code: string; details?: unknown } }).error;
      if (error.code === 'invalid_request') {
        assert.ok(Array.isArray(error.details) && error.details.length > 0 && error.details.every((d) => typeof d === 'string'), 'the details name what is wrong');
      }
    }), fuzzParams(RUNS));
    noCrashes();
  });
});

/** The corpus's business ids made those of this test's connections, so deliveries route (and some still do not). */
function retarget(body: unknown): unknown {
  const text = JSON.stringify(body)
    .replace(/"phone_number_id":"\d+"/g, `"phone_number_id":"${PHONE_NUMBER_ID}"`)
    .replace(/"<PAGE_ID>"/g, `"${PAGE_ID}"`);
  return JSON.parse(text);
}
