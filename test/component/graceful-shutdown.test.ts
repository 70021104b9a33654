/**
 * SIGTERM to the real bridge process under a stream of signed webhooks: from the moment the signal is handled
 * every webhook is answered 503 (or, once the server has closed, refused), work in hand finishes or is handed
 * back within SHUTDOWN_DRAIN_MS, the process exits 0 in time, and every webhook that was answered 200 reaches
 * Chatwoot exactly once and in order — a second process carries on with what the first did not finish.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_ID, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, createConnection, eventually, harnessEnv, signedPost } from '../support/harness';
import { startFakeChatwoot } from '../fakes/chatwoot';
import { startFakeGraph } from '../fakes/graph';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { startBridgeProcess, type BridgeProcess } from '../support/processes';

const DRAIN_MS = 3000;
const SENDERS = 8;

interface Attempt { id: string; customer: number; seq: number; startedAt: number; status: number | 'refused' }

test('when SIGTERM arrives under load, then later webhooks get 503, the process exits 0 within the drain time, and every accepted message arrives once, in order', async () => {
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const chatwoot = await startFakeChatwoot();
  chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
  const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
  const env = await harnessEnv({ graphUrl: graph.url, extra: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), QUEUE_LOCK_MS: '3000', QUEUE_CLAIM_LEASE_MS: '5000' } });
  const first = await startBridgeProcess(env, undefined, [], { readyTimeoutMs: 90_000 });
  let second: BridgeProcess | undefined;
  try {
    await createConnection(first.baseUrl, chatwoot.url, inbox.id);
    // Half of Chatwoot's answers fail: work piles up in the lanes, so some is still waiting when the signal comes.
    chatwoot.setFaults({ serverErrorRate: 0.5 });

    const attempts: Attempt[] = [];
    const pending: Array<Array<{ id: string; seq: number; body: unknown }>> = Array.from({ length: SENDERS }, () => []);
    let streaming = true;
    const firstUrl = first.baseUrl;
    // Each sender is one customer writing in order; a message not answered 200 is kept to be delivered again
    // later (as Meta does), and the customer writes nothing new before it is accepted.
    const senders = Array.from({ length: SENDERS }, async (_, c) => {
      const from = `4930777${String(c).padStart(5, '0')}`;
      for (let seq = 0; streaming; seq += 1) {
        const id = wamid();
        const body = delivery([[change([textMessage({ from, id, body: `shutdown test ${c}/${seq}`, timestamp: 1750200000 + seq })])]]);
        // Not answered 200: delivered again (as Meta does) while the stream runs, so attempts keep arriving
        // after the signal however fast the process answers 503 and exits; then kept for the second process.
        let status: Attempt['status'];
        do {
          const startedAt = Date.now();
          status = await signedPost(firstUrl, body).then((r) => r.status, () => 'refused' as const);
          attempts.push({ id, customer: c, seq, startedAt, status });
          if (status !== 200 && streaming) await new Promise((r) => setTimeout(r, 25));
        } while (status !== 200 && streaming);
        if (status !== 200) { pending[c]!.push({ id, seq, body }); return; }
      }
    });
    await eventually(() => assert.ok(attempts.filter((a) => a.status === 200).length >= 60), 20_000, 50);

    const signalledAt = Date.now();
    const exited = first.kill('SIGTERM');
    await eventually(() => assert.ok(first.output.some((l) => l.includes('signal received, shutting down'))), 5_000, 5);
    const handledAt = Date.now();
    const code = await exited;
    const exitMs = Date.now() - signalledAt;
    streaming = false;
    await Promise.all(senders);

    assert.equal(code, 0, `exit code; last output: ${first.output.slice(-5).join(' | ')}`);
    assert.ok(exitMs < DRAIN_MS + 3000, `exited after ${exitMs} ms`);
    const stopped = first.output.find((l) => l.includes('"bridge stopped"'));
    assert.ok(stopped && JSON.parse(stopped).workers === 'drained', `stop line: ${stopped}`);
    const late = attempts.filter((a) => a.startedAt >= handledAt);
    assert.ok(late.length > 0, 'the stream went on after the signal');
    assert.deepEqual([...new Set(late.map((a) => a.status))].filter((s) => s !== 503 && s !== 'refused'), [], 'after SIGTERM: only 503 or refused');
    assert.ok(late.some((a) => a.status === 503), 'at least one webhook heard 503 while the process drained');

    // A second process: it carries on with the lanes the first handed back, and takes the refused webhooks.
    chatwoot.setFaults(undefined);
    second = await startBridgeProcess(env, undefined, [], { readyTimeoutMs: 90_000 });
    const secondUrl = second.baseUrl;
    const beforeSecond = new Set(chatwoot.messages(ACCOUNT_ID).map((m) => m.source_id));
    for (const list of pending) {
      // Delivered again until accepted, as Meta does (a cold process on a busy machine may still answer 503).
      for (const m of list) await eventually(async () => assert.equal((await signedPost(secondUrl, m.body)).status, 200), 20_000, 250);
    }
    const accepted = attempts.filter((a) => a.status === 200).map((a) => a.id).concat(pending.flat().map((m) => m.id));
    await eventually(() => {
      const ids = new Set(chatwoot.messages(ACCOUNT_ID).map((m) => m.source_id));
      assert.deepEqual(accepted.filter((id) => !ids.has(id)), []);
    }, 60_000, 200);
    assert.ok(accepted.some((id) => !beforeSecond.has(id)), 'the second process delivered work the first left');
    await new Promise((r) => setTimeout(r, 1000));
    const messages = chatwoot.messages(ACCOUNT_ID);
    for (const id of accepted) assert.equal(messages.filter((m) => m.source_id === id).length, 1, `message ${id} once`);
    for (let c = 0; c < SENDERS; c += 1) {
      const order = messages.filter((m) => m.content?.startsWith(`shutdown test ${c}/`)).map((m) => Number(m.content!.split('/')[1]));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `customer ${c} in order`);
    }
  } finally {
    await first.kill('SIGKILL');
    await second?.kill('SIGTERM');
    await Promise.all([graph.close(), chatwoot.close()]);
  }
});

test('when a job is still running as the drain time runs out, then the process exits 0 in time and another process delivers that message once', async () => {
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const chatwoot = await startFakeChatwoot();
  chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
  const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
  // Chatwoot calls may take 30 s, the drain only 1 s: the job in hand cannot finish in time.
  const env = await harnessEnv({ graphUrl: graph.url, extra: { SHUTDOWN_DRAIN_MS: '1000', CHATWOOT_TIMEOUT_MS: '30000', QUEUE_LOCK_MS: '2000', QUEUE_CLAIM_LEASE_MS: '3000' } });
  let first: BridgeProcess | undefined;
  let second: BridgeProcess | undefined;
  try {
    const a = await startBridgeProcess(env, undefined, [], { readyTimeoutMs: 90_000 });
    first = a;
    await createConnection(a.baseUrl, chatwoot.url, inbox.id);
    const from = '4930888000';
    const warm = textMessage({ from, id: wamid(), body: 'warm-up', timestamp: 1750300000 });
    assert.equal((await signedPost(a.baseUrl, delivery([[change([warm])]]))).status, 200);
    await eventually(() => assert.ok(chatwoot.messages(ACCOUNT_ID).some((m) => m.source_id === warm.id)), 15_000);

    chatwoot.setFaults({ hangRate: 1 });
    const sentAt = Date.now();
    const stuck = textMessage({ from, id: wamid(), body: 'stuck in flight', timestamp: 1750300001 });
    assert.equal((await signedPost(a.baseUrl, delivery([[change([stuck])]]))).status, 200);
    // The worker is now waiting on Chatwoot, which will not answer.
    await eventually(() => assert.ok(chatwoot.requests.some((r) => r.method === 'POST' && /\/messages$/.test(r.path) && r.at >= sentAt)), 10_000, 50);

    const signalledAt = Date.now();
    const code = await a.kill('SIGTERM');
    const exitMs = Date.now() - signalledAt;
    assert.equal(code, 0, a.output.slice(-5).join(' | '));
    assert.ok(exitMs < 1000 + 3000, `exited after ${exitMs} ms`);
    const stopped = a.output.find((l) => l.includes('"bridge stopped"'));
    assert.ok(stopped && JSON.parse(stopped).workers === 'timed_out', `stop line: ${stopped}`);
    assert.equal(chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === stuck.id).length, 0, 'not delivered by the first process');

    chatwoot.setFaults(undefined);
    second = await startBridgeProcess(env, undefined, [], { readyTimeoutMs: 90_000 });
    await eventually(() => assert.equal(chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === stuck.id).length, 1), 40_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === stuck.id).length, 1);
  } finally {
    await first?.kill('SIGKILL');
    await second?.kill('SIGTERM');
    await Promise.all([graph.close(), chatwoot.close()]);
  }
});

