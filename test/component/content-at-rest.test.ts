/**
 * Message content is never at rest in plain text. Every Redis key (every type) and every MongoDB document is
 * scanned for a marker the messages carry: while messages wait in their lanes and their drain job is retrying
 * (Bull job data, failed reason and stack), after events were given up on (dead letters), and once all is done
 * (when the lanes must also be empty). The scan itself is shown to find the marker wherever it is planted.
 * The chaos run scans the same way during and after its run (test/component/chaos-small.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import mongoose from 'mongoose';
import { ACCOUNT_ID, eventually, startHarness, withDb, type Harness } from '../support/harness';
import { requireServices, uniqueDbName, uniqueRedisPrefix } from '../support/env';
import { scanMongo, scanRedis } from '../support/at-rest-scan';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';

const marker = () => `atrest${randomBytes(6).toString('hex')}`;

describe('the at-rest scan', () => {
  test('when a marker is planted in any Redis type or a MongoDB document, then the scan finds it', async () => {
    const { redisUrl, mongoUri } = requireServices();
    const m = marker();
    const p = uniqueRedisPrefix('plant');
    const redis = new Redis(redisUrl);
    const uri = withDb(mongoUri, uniqueDbName('plant'));
    const db = await mongoose.createConnection(uri).asPromise();
    try {
      await redis.set(`${p}:string`, `x${m}x`);
      await redis.hset(`${p}:hash-value`, 'f', `..${m}..`);
      await redis.hset(`${p}:hash-field`, `f${m}`, '1');
      await redis.rpush(`${p}:list`, 'a', `b${m}`);
      await redis.sadd(`${p}:set`, `s${m}`);
      await redis.zadd(`${p}:zset`, 1, `z${m}`);
      await redis.xadd(`${p}:stream`, '*', 'field', `v${m}`);
      await redis.set(`${p}:name-${m}`, 'clean');
      await redis.set(`${p}:clean`, 'nothing here');
      await db.collection('plain').insertOne({ nested: { deep: [`text ${m}`] } });
      await db.collection('binary').insertOne({ bytes: new mongoose.mongo.Binary(Buffer.from(`bin ${m}`)) });
      await db.collection('clean').insertOne({ text: 'nothing here' });

      const r = await scanRedis(redisUrl, [m]);
      assert.deepEqual(r.findings.map((f) => f.where.replace(/^db\d+ /, '')).sort(), [
        `hash ${p}:hash-field`, `hash ${p}:hash-value`, `list ${p}:list`, `set ${p}:set`, `stream ${p}:stream`,
        `string ${p}:name-${m}`, `string ${p}:string`, `zset ${p}:zset`,
      ]);
      const g = await scanMongo(uri, [m]);
      assert.deepEqual(g.findings.map((f) => f.where.split(' ')[0]).sort(), ['binary', 'plain']);
      assert.equal(g.scanned, 3);
    } finally {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await db.dropDatabase();
      await db.close();
    }
  });
});

describe('message content at rest', () => {
  let h: Harness;
  // Three attempts, quick backoff: events are given up on within seconds, so dead letters exist to be scanned.
  before(async () => { h = await startHarness({ env: { QUEUE_ATTEMPTS: '3', QUEUE_BACKOFF_BASE_MS: '100', QUEUE_BACKOFF_MAX_MS: '300' } }); });
  after(async () => { await h?.stop(); });

  const m = marker();
  const redisUrl = () => h.env.REDIS_URL!;
  const prefix = () => h.env.QUEUE_PREFIX!;

  async function redisState(): Promise<{ lanePayloads: number; failedReasons: number }> {
    const redis = new Redis(redisUrl());
    try {
      let lanePayloads = 0;
      for (const k of await redis.keys(`${prefix()}:lane:*:e`)) lanePayloads += await redis.hlen(k);
      let failedReasons = 0;
      for (const k of await redis.keys(`${prefix()}:lanes:drain:*`)) {
        if ((await redis.type(k)) === 'hash' && (await redis.hget(k, 'failedReason'))) failedReasons += 1;
      }
      return { lanePayloads, failedReasons };
    } finally {
      redis.disconnect();
    }
  }

  async function assertNoMarker(when: string): Promise<void> {
    const r = await scanRedis(redisUrl(), [m]);
    assert.deepEqual(r.findings, [], `Redis ${when}`);
    assert.deepEqual(r.unreadable, [], `Redis ${when}: keys the scan could not read`);
    assert.ok(r.scanned > 0);
    const g = await scanMongo(h.env.MONGODB_URI!, [m]);
    assert.deepEqual(g.findings, [], `MongoDB ${when}`);
    assert.ok(g.scanned > 0);
  }

  const write = (from: string, text: string) => {
    const id = wamid();
    return { id, post: () => h.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp: Math.floor(Date.now() / 1000) })])]])) };
  };

  test('when messages wait in a lane while their drain job fails, then Redis holds no message text', async () => {
    h.chatwoot.setDown(true);
    for (let i = 0; i < 3; i += 1) assert.equal((await write('4930111000', `${m} waiting ${i}`).post()).status, 200);
    // Content is in Redis now (sealed lane entries) and the drain job has failed at least once (failedReason).
    await eventually(async () => {
      const s = await redisState();
      assert.ok(s.lanePayloads >= 1 && s.failedReasons >= 1, JSON.stringify(s));
    }, 15_000, 100);
    await assertNoMarker('while the messages wait and their job retries');
  });

  test('when events are given up on, then the dead letters hold no message text', async () => {
    const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
    try {
      await eventually(async () => assert.ok((await db.collection('dead_letters').countDocuments()) >= 1), 20_000, 200);
    } finally {
      await db.close();
    }
    await assertNoMarker('with dead letters');
    h.chatwoot.setDown(false);
  });

  test('when messages and replies are delivered or fail for good, then nothing is left in the lanes and no text anywhere', async () => {
    const b = write('4930222000', `${m} hello`);
    assert.equal((await b.post()).status, 200);
    const msg = await eventually(() => { const x = h.chatwoot.messages(ACCOUNT_ID).find((y) => y.source_id === b.id); assert.ok(x); return x; }, 15_000);
    h.chatwoot.createAgentReply(ACCOUNT_ID, msg.conversation_id, { content: `${m} reply that arrives` });
    await eventually(() => assert.ok(h.graph.sent.some((s) => JSON.stringify(s.body).includes(`${m} reply that arrives`))), 15_000);
    // Graph refuses every send for a while: the reply is retried, then given up on and shown failed to the agent.
    h.graph.failNext(/\/messages$/, 10, { status: 500 });
    const failing = h.chatwoot.createAgentReply(ACCOUNT_ID, msg.conversation_id, { content: `${m} reply that fails` });
    await eventually(() => assert.equal(h.chatwoot.messages(ACCOUNT_ID).find((x) => x.id === failing.id)?.status, 'failed'), 20_000, 100);
    await eventually(async () => assert.equal((await redisState()).lanePayloads, 0), 15_000, 100);
    await assertNoMarker('after the run');
  });
});
