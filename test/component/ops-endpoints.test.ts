/**
 * Operations endpoints on the real bridge: /metrics after real traffic (webhooks, a backlog while Chatwoot is
 * down, a refused Meta token, a dead letter), /metrics access by token, /readyz following Redis down and back,
 * and a worker-role process serving /healthz, /readyz and /metrics too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Bridge } from '../../src/app';
import { loadConfig } from '../../src/config';
import { ACCOUNT_ID, GRAPH_VERSION, META_TOKEN, eventually, harnessEnv, startHarness } from '../support/harness';
import { startFakeGraph } from '../fakes/graph';
import { startPrivateRedis } from '../support/processes';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';

const METRICS_TOKEN = 'test-metrics-token-0123456789';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (comments skipped; label values here never hold `"` or `,`). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

async function scrape(baseUrl: string, token = METRICS_TOKEN): Promise<Sample[]> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

const nowS = () => Math.floor(Date.now() / 1000);

describe('operations endpoints', () => {
  test('when /metrics is asked without the token or with a wrong one, then it answers 401 and shows nothing', async () => {
    const h = await startHarness({ env: { METRICS_TOKEN } });
    try {
      const none = await fetch(`${h.baseUrl}/metrics`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = await none.text();
      assert.doesNotMatch(body, /bridge_/);
      const wrong = await fetch(`${h.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
      assert.equal(wrong.status, 401);
      const basic = await fetch(`${h.baseUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` } });
      assert.equal(basic.status, 401);
      // The probes stay open: an orchestrator carries no token.
      assert.equal((await fetch(`${h.baseUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${h.baseUrl}/readyz`)).status, 200);
    } finally {
      await h.stop();
    }
  });

  test('when traffic flowed, Chatwoot was down, a token was refused and an event was given up, then /metrics shows each of it', async () => {
    const h = await startHarness({ env: { METRICS_TOKEN, QUEUE_ATTEMPTS: '100' } });
    try {
      // 1. A message forwarded normally.
      const first = textMessage({ from: '4915111000001', id: wamid(), body: 'metrics one', timestamp: nowS() });
      assert.equal((await h.postWebhook(delivery([[change([first])]]))).status, 200);
      const forwarded = await eventually(() => {
        const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === first.id);
        assert.ok(m);
        return m;
      });
      // The lane entry is removed just after Chatwoot has the message.
      let s = await eventually(async () => {
        const now = await scrape(h.baseUrl);
        assert.equal(value(now, 'bridge_queue_depth', { queue: 'lanes' }), 0);
        return now;
      }, 5_000, 50);
      assert.ok((value(s, 'bridge_webhooks_total', { source: 'meta', outcome: 'accepted' }) ?? 0) >= 1);
      assert.ok((value(s, 'bridge_forward_latency_seconds_count', { platform: 'chatwoot' }) ?? 0) >= 1);
      assert.equal(value(s, 'bridge_queue_oldest_age_seconds', { queue: 'lanes' }), 0);
      assert.equal(value(s, 'bridge_connection_token_health', { connection_id: h.connectionId, channel: 'whatsapp', state: 'ok' }), 1);
      assert.equal(value(s, 'bridge_connection_token_health', { connection_id: h.connectionId, state: 'needs_reauth' }), 0);
      assert.equal(value(s, 'bridge_dead_letters_stored', { direction: 'inbound' }), 0);
      for (const source of ['redis_backlog', 'mongodb_connections', 'mongodb_dead_letters']) {
        assert.equal(value(s, 'bridge_scrape_source_up', { source }), 1, source);
      }
      assert.ok((value(s, 'process_resident_memory_bytes') ?? 0) > 0, 'default process metrics are on');

      // 2. Chatwoot answers 503: a customer's message written two minutes ago waits in its lane.
      h.chatwoot.setDown(true, 503);
      const waiting = textMessage({ from: '4915111000002', id: wamid(), body: 'metrics waiting', timestamp: nowS() - 120 });
      assert.equal((await h.postWebhook(delivery([[change([waiting])]]))).status, 200);
      s = await eventually(async () => {
        const now = await scrape(h.baseUrl);
        assert.ok((value(now, 'bridge_platform_errors_total', { platform: 'chatwoot', code: '503', retryable: 'true' }) ?? 0) >= 1);
        return now;
      }, 10_000, 100);
      assert.equal(value(s, 'bridge_queue_depth', { queue: 'lanes' }), 1);
      assert.equal(value(s, 'bridge_queue_lanes', { queue: 'lanes' }), 1);
      const age = value(s, 'bridge_queue_oldest_age_seconds', { queue: 'lanes' })!;
      assert.ok(age >= 120 && age < 180, `oldest entry age ${age}`);
      const jobs = ['waiting', 'active', 'delayed', 'paused'].map((state) => value(s, 'bridge_queue_drain_jobs', { queue: 'lanes', state }) ?? NaN);
      assert.equal(jobs.reduce((a, b) => a + b, 0), 1, `one drain job for the one lane: ${jobs.join(',')}`);

      // 3. Chatwoot is back: the lane empties, the latency histogram counts the late message too.
      h.chatwoot.setDown(false);
      s = await eventually(async () => {
        const now = await scrape(h.baseUrl);
        assert.equal(value(now, 'bridge_queue_depth', { queue: 'lanes' }), 0);
        return now;
      }, 15_000, 200);
      assert.equal(value(s, 'bridge_queue_oldest_age_seconds', { queue: 'lanes' }), 0);
      assert.ok((value(s, 'bridge_forward_latency_seconds_count', { platform: 'chatwoot' }) ?? 0) >= 2);

      // 4. Chatwoot refuses one message for good (422): it is given up and stored as a dead letter.
      h.chatwoot.failNext(/\/messages$/, 1, { status: 422, body: { error: 'refused by a test' } });
      const refused = textMessage({ from: '4915111000001', id: wamid(), body: 'metrics refused', timestamp: nowS() });
      assert.equal((await h.postWebhook(delivery([[change([refused])]]))).status, 200);
      s = await eventually(async () => {
        const now = await scrape(h.baseUrl);
        assert.equal(value(now, 'bridge_dead_letters_stored', { direction: 'inbound' }), 1);
        return now;
      }, 10_000, 100);
      assert.ok((value(s, 'bridge_dead_letters_total', { direction: 'inbound' }) ?? 0) >= 1);
      assert.ok((value(s, 'bridge_platform_errors_total', { platform: 'chatwoot', code: '422', retryable: 'false' }) ?? 0) >= 1);

      // 5. Meta revokes the token: an agent reply gets 401/190, the connection needs re-authorisation.
      h.graph.removeToken(META_TOKEN);
      h.chatwoot.createAgentReply(ACCOUNT_ID, forwarded.conversation_id, { content: 'a reply Meta refuses' });
      s = await eventually(async () => {
        const now = await scrape(h.baseUrl);
        assert.equal(value(now, 'bridge_connection_token_health', { connection_id: h.connectionId, channel: 'whatsapp', state: 'needs_reauth' }), 1);
        return now;
      }, 10_000, 100);
      assert.equal(value(s, 'bridge_connection_token_health', { connection_id: h.connectionId, state: 'ok' }), 0);
      assert.ok((value(s, 'bridge_graph_errors_total', { api: 'facebook', code: '190', retryable: 'false' }) ?? 0) >= 1);
    } finally {
      await h.stop();
    }
  });

  test('when Redis stops, then /readyz is 503 naming redis and /metrics still answers; when Redis is back, /readyz is 200 again', async () => {
    const redis = await startPrivateRedis();
    const h = await startHarness({ redisUrl: redis.url, env: { METRICS_TOKEN } });
    try {
      const ready = await fetch(`${h.baseUrl}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready', checks: { mongodb: 'ok', redis: 'ok' } });

      await redis.stop();
      const down = await eventually(async () => {
        const res = await fetch(`${h.baseUrl}/readyz`);
        assert.equal(res.status, 503);
        return (await res.json()) as { status: string; failing: string[]; checks: Record<string, string> };
      }, 5_000, 100);
      assert.equal(down.status, 'not_ready');
      assert.deepEqual(down.failing, ['redis']);
      assert.equal(down.checks.mongodb, 'ok');
      assert.notEqual(down.checks.redis, 'ok');

      // Metrics keep answering in an outage; the gauges Redis feeds are left out rather than shown stale.
      const started = Date.now();
      const s = await scrape(h.baseUrl);
      assert.ok(Date.now() - started < 5_000, 'a scrape during an outage stays quick');
      assert.equal(value(s, 'bridge_scrape_source_up', { source: 'redis_backlog' }), 0);
      assert.equal(value(s, 'bridge_scrape_source_up', { source: 'mongodb_connections' }), 1);
      assert.equal(value(s, 'bridge_queue_depth', { queue: 'lanes' }), undefined);

      await redis.start();
      await eventually(async () => {
        const res = await fetch(`${h.baseUrl}/readyz`);
        assert.equal(res.status, 200);
      }, 20_000, 200);
      assert.equal(value(await scrape(h.baseUrl), 'bridge_queue_depth'), 0);
    } finally {
      await redis.start().catch(() => undefined);
      await h.stop();
      await redis.stop();
    }
  });

  test('when the bridge runs as a worker, then it serves /healthz, /readyz and /metrics but no webhook edge', async () => {
    const graph = await startFakeGraph({ version: GRAPH_VERSION });
    const env = await harnessEnv({ graphUrl: graph.url, extra: { BRIDGE_ROLE: 'worker', METRICS_TOKEN } });
    const bridge = new Bridge(loadConfig(env), { logStream: new PassThrough() });
    await bridge.start();
    const baseUrl = `http://127.0.0.1:${bridge.port}`;
    try {
      assert.equal((await fetch(`${baseUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${baseUrl}/readyz`)).status, 200);
      assert.equal((await fetch(`${baseUrl}/metrics`)).status, 401);
      const s = await scrape(baseUrl);
      assert.equal(value(s, 'bridge_queue_depth', { queue: 'lanes' }), 0);
      assert.equal((await fetch(`${baseUrl}/webhooks/meta`, { method: 'POST', body: '{}' })).status, 404);
    } finally {
      await bridge.stop();
      await graph.close();
    }
  });
});
