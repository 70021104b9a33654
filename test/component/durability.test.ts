/**
 * What is acknowledged is kept: Redis down → 503 (Meta delivers again); a bridge killed with SIGKILL right
 * after answering 200 still delivers, exactly once; an attempt interrupted after Chatwoot created the message
 * does not create it twice.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, createConnection, eventually, harnessEnv, signedPost, startHarness } from '../support/harness';
import { startFakeChatwoot } from '../fakes/chatwoot';
import { startFakeGraph } from '../fakes/graph';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { startBridgeProcess, startPrivateRedis } from '../support/processes';

describe('durability', () => {
  test('when Redis is unreachable, then the edge answers 503 and recovers when Redis is back', async () => {
    const redis = await startPrivateRedis();
    const h = await startHarness({ redisUrl: redis.url });
    try {
      const body = () => delivery([[change([textMessage({ from: '4930123456', id: wamid(), body: 'redis test', timestamp: 1750100000 })])]]);
      assert.equal((await h.postWebhook(body())).status, 200);
      await redis.stop();
      const down = await h.postWebhook(body());
      assert.equal(down.status, 503);
      assert.ok(down.headers.get('retry-after'));
      await redis.start();
      await eventually(async () => assert.equal((await h.postWebhook(body())).status, 200), 15_000, 200);
    } finally {
      await redis.start().catch(() => undefined);
      await h.stop();
      await redis.stop();
    }
  });

  test('when the bridge is killed with SIGKILL right after answering 200, then after a restart each message arrives exactly once', async () => {
    const graph = await startFakeGraph({ version: GRAPH_VERSION });
    graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
    const chatwoot = await startFakeChatwoot();
    chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
    const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
    const env = await harnessEnv({ graphUrl: graph.url, extra: { QUEUE_LOCK_MS: '2000' } });
    let bridge = await startBridgeProcess(env);
    try {
      await createConnection(bridge.baseUrl, chatwoot.url, inbox.id);
      // A: Chatwoot is down, so the message cannot have been forwarded before the kill.
      chatwoot.setDown(true);
      const a = textMessage({ from: '4930999000', id: wamid(), body: 'kill test A', timestamp: 1750100100 });
      assert.equal((await signedPost(bridge.baseUrl, delivery([[change([a])]]))).status, 200);
      assert.equal(await bridge.kill('SIGKILL'), null);
      chatwoot.setDown(false);

      bridge = await startBridgeProcess(env);
      // B: Chatwoot is up; killed the moment the 200 arrives, wherever the work was.
      const b = textMessage({ from: '4930999000', id: wamid(), body: 'kill test B', timestamp: 1750100101 });
      assert.equal((await signedPost(bridge.baseUrl, delivery([[change([b])]]))).status, 200);
      await bridge.kill('SIGKILL');

      bridge = await startBridgeProcess(env);
      for (const m of [a, b]) {
        await eventually(() => assert.equal(chatwoot.messages(ACCOUNT_ID).filter((x) => x.source_id === m.id).length, 1), 30_000);
      }
      await new Promise((r) => setTimeout(r, 3000));
      for (const m of [a, b]) assert.equal(chatwoot.messages(ACCOUNT_ID).filter((x) => x.source_id === m.id).length, 1);
      const order = chatwoot.messages(ACCOUNT_ID).filter((x) => /^kill test/.test(x.content ?? '')).map((x) => x.content);
      assert.deepEqual(order, ['kill test A', 'kill test B']);
    } finally {
      await bridge.kill('SIGTERM');
      await Promise.all([graph.close(), chatwoot.close()]);
    }
  });

  test('when an earlier attempt created the message and died before recording it, then the retry does not create it again', async () => {
    const h = await startHarness();
    try {
      const from = '4930555000';
      const warm = textMessage({ from, id: wamid(), body: 'first', timestamp: 1750100200 });
      await h.postWebhook(delivery([[change([warm])]]));
      const first = await eventually(() => { const f = h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === warm.id); assert.equal(f.length, 1); return f[0]!; });
      // Simulate the interrupted attempt: Chatwoot has the message, our key is claimed but not done.
      const lost = textMessage({ from, id: wamid(), body: 'interrupted', timestamp: 1750100201 });
      const res = await fetch(`${h.chatwoot.url}/api/v1/accounts/${ACCOUNT_ID}/conversations/${first.conversation_id}/messages`, {
        method: 'POST', headers: { api_access_token: CHATWOOT_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'interrupted', message_type: 'incoming', source_id: lost.id }),
      });
      assert.equal(res.status, 200);
      const db = mongoose.createConnection(h.env.MONGODB_URI!);
      await db.asPromise();
      await db.collection('inbound_keys').insertOne({ _id: `${h.connectionId}:${lost.id}` as any, state: 'claimed', claimedAt: new Date(0), expiresAt: new Date(Date.now() + 86_400_000) });
      await db.close();
      assert.equal((await h.postWebhook(delivery([[change([lost])]]))).status, 200);
      const after = textMessage({ from, id: wamid(), body: 'after', timestamp: 1750100202 });
      await h.postWebhook(delivery([[change([after])]]));
      await eventually(() => assert.equal(h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === after.id).length, 1));
      assert.equal(h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === lost.id).length, 1);
    } finally {
      await h.stop();
    }
  });
});
