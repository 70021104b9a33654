/**
 * A reply part Graph took whose answer never reached the bridge (the connection cut after Graph accepted it, as
 * when the process dies or the network breaks) is not sent twice: the retry waits for Meta's status, which names
 * the part by its send tag (biz_opaque_callback_data), and records the part from it. Only when no status comes
 * within QUEUE_UNCONFIRMED_SEND_WAIT_MS is the part sent again; an answer that says Graph refused the part is
 * retried at once. Real bridge, real Redis and MongoDB-wire server, Graph and Chatwoot fakes over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { ACCOUNT_ID, eventually, startHarness, type Harness } from '../support/harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';
import type { SentMessage } from '../fakes/graph';

const WAIT_MS = 6_000;

describe('a reply part whose answer was lost', () => {
  let h: Harness;
  let redis: Redis;
  before(async () => {
    h = await startHarness({ env: { QUEUE_UNCONFIRMED_SEND_WAIT_MS: String(WAIT_MS) } });
    redis = new Redis(h.env.REDIS_URL!);
  });
  after(async () => {
    redis?.disconnect();
    await h?.stop();
  });

  let customerSeq = 0;
  async function customerWrites(): Promise<{ from: string; conversationId: number }> {
    customerSeq += 1;
    const from = `3077${String(customerSeq).padStart(8, '0')}`;
    const id = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from, id, body: 'hi', timestamp: Math.floor(Date.now() / 1000) })])]]));
    const msg = await eventually(() => {
      const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id);
      assert.ok(m);
      return m;
    });
    return { from, conversationId: msg.conversation_id };
  }
  const sentTo = (from: string) => h.graph.sent.filter((s) => s.to === `+${from}`);
  const chatwootMessage = (id: number) => h.chatwoot.messages(ACCOUNT_ID).find((m) => m.id === id)!;
  const status = (s: SentMessage, value: string, to: string, tag = s.body.biz_opaque_callback_data as string | undefined) =>
    h.postWebhook(delivery([[statusChange([{ id: s.id, status: value, recipient: to, timestamp: Math.floor(Date.now() / 1000), tag }])]]));
  const ledgerKeys = async () => redis.keys(`${h.env.QUEUE_PREFIX}:send-*`);

  test("when Graph took the part and the answer was lost, then the retry waits for Meta's status, records the part from it and never sends it again; the agent sees the status", async () => {
    const c = await customerWrites();
    h.graph.loseAnswers(1);
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'lost answer' });
    const [first] = await eventually(() => { const s = sentTo(c.from); assert.equal(s.length, 1); return s; });
    assert.match(String(first!.body.biz_opaque_callback_data), /^mcb1:[A-Za-z0-9_-]{22}$/, 'the part carries its send tag');
    // The retry runs (backoff 100 ms here) and waits: nothing is sent again while Meta's status may still come.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(sentTo(c.from).length, 1);

    const res = await status(first!, 'delivered', c.from);
    assert.equal(res.status, 200);
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'delivered'), 15_000);
    await eventually(() => assert.ok(h.logs.some((l) => l.includes('recorded, not sent again'))));
    assert.match(await h.bridge!.metrics.registry.metrics(), /bridge_unanswered_sends_total\{outcome="found_sent"\} 1/);
    // Well past the wait: still one copy at Meta, and the ledger is empty again.
    await new Promise((r) => setTimeout(r, WAIT_MS + 1_000));
    assert.equal(sentTo(c.from).length, 1, 'sent once');
    assert.deepEqual(await ledgerKeys(), []);
  });

  test('when no status names the part within the wait, then it is sent again, once, with the same tag', async () => {
    const c = await customerWrites();
    h.graph.loseAnswers(1);
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'never confirmed' });
    const sent = await eventually(() => { const s = sentTo(c.from); assert.equal(s.length, 2); return s; }, WAIT_MS + 20_000);
    assert.ok(sent[1]!.at - sent[0]!.at >= WAIT_MS - 500, `sent again only after the wait (${sent[1]!.at - sent[0]!.at} ms)`);
    assert.equal(sent[1]!.body.biz_opaque_callback_data, sent[0]!.body.biz_opaque_callback_data);
    await eventually(() => assert.ok(h.logs.some((l) => l.includes('no status from Meta for a part whose send had no answer'))));
    assert.match(await h.bridge!.metrics.registry.metrics(), /bridge_unanswered_sends_total\{outcome="resent"\} 1/);
    // The second copy is the one recorded: its status reaches the agent.
    await status(sent[1]!, 'read', c.from);
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'read'));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(sentTo(c.from).length, 2);
  });

  test('when Graph answers with an error, then nothing was sent and the retry sends at once, without waiting for a status', async () => {
    const c = await customerWrites();
    h.graph.failNext(/\/messages$/, 1, { status: 500, body: { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1, is_transient: true, fbtrace_id: 'x' } } });
    const started = Date.now();
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'refused once' });
    const [sent] = await eventually(() => { const s = sentTo(c.from); assert.equal(s.length, 1); return s; }, 15_000);
    assert.ok(sent!.at - started < WAIT_MS - 1_000, `resent before any wait would have ended (${sent!.at - started} ms)`);
    await status(sent!, 'sent', c.from);
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'sent'));
  });

  test('when statuses of recorded sends arrive, then the edge keeps nothing for them', async () => {
    const c = await customerWrites();
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'plain' });
    const [sent] = await eventually(() => { const s = sentTo(c.from); assert.equal(s.length, 1); return s; });
    for (const value of ['sent', 'delivered']) assert.equal((await status(sent!, value, c.from)).status, 200);
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'delivered'));
    assert.deepEqual(await ledgerKeys(), [], 'a settled send leaves no key, and its statuses write none');
  });
});
