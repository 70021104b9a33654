/**
 * What the logs of a real run hold, end to end (real bridge, Redis, MongoDB-wire server, Graph and Chatwoot
 * fakes): customers write with a marker text and a full phone number, an agent answers with another marker,
 * media fail, deliveries are odd or unrouted, bodies malformed; then the captured log lines are scanned with
 * test/support/log-scan.ts. No message text, token, secret or full phone number may appear, and every line
 * carries the request or job it was written in (lines from deep inside the edge's routing too).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_ID, ADMIN_KEY, APP_SECRET, CHATWOOT_TOKEN, META_TOKEN, VERIFY_TOKEN, eventually, startHarness, type Harness } from '../support/harness';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { assertLogsClean } from '../support/log-scan';

const CUSTOMER_PHONE = '16505557321';
const CUSTOMER_MARKER = 'MARKER-customer-7f3a9 «my card is 4242»';
const AGENT_MARKER = 'MARKER-agent-b81c2 "see you"';

type Line = Record<string, unknown> & { message?: string; requestId?: string; jobId?: string; component?: string };

describe('log hygiene over a component run', () => {
  let h: Harness;
  const lines = (): Line[] => h.logs.map((l) => JSON.parse(l) as Line);

  before(async () => {
    h = await startHarness();
    const at = Math.floor(Date.now() / 1000);
    const text = wamid();
    const image = wamid();
    // A customer's text with the marker, and an image whose media id Graph does not know (the download fails in a job).
    assert.equal((await h.postWebhook(delivery([[change([
      textMessage({ from: CUSTOMER_PHONE, id: text, body: CUSTOMER_MARKER, timestamp: at }),
      { from: CUSTOMER_PHONE, id: image, timestamp: String(at + 1), type: 'image', image: { id: '999000111222333', mime_type: 'image/jpeg', caption: CUSTOMER_MARKER } },
    ])]]))).status, 200);
    const first = await eventually(() => {
      const found = h.chatwoot.messages(ACCOUNT_ID).find((m) => m.source_id === text);
      assert.ok(found);
      return found;
    }, 15_000);
    await eventually(() => assert.ok(h.chatwoot.messages(ACCOUNT_ID).some((m) => m.source_id === image)), 20_000);
    // The agent answers with a marker; it reaches Graph.
    h.chatwoot.createAgentReply(ACCOUNT_ID, first.conversation_id, { content: AGENT_MARKER });
    await eventually(() => assert.ok(h.graph.sent.some((s) => JSON.stringify(s.body).includes('MARKER-agent-b81c2'))), 15_000);
    // Deliveries the edge answers without forwarding, logged from inside the request: an unrouted number, an odd
    // change. And refusals: malformed, too deep, unsigned.
    const unrouted = delivery([[change([textMessage({ from: CUSTOMER_PHONE, id: wamid(), body: CUSTOMER_MARKER, timestamp: at })], '999888777666555')]]);
    const odd = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '106540352242922' }, contacts: [{ wa_id: CUSTOMER_PHONE }] } }] }] };
    for (const [body, requestId] of [[unrouted, 'req-unrouted-1'], [odd, 'req-odd-1']] as const) {
      const raw = JSON.stringify(body);
      const { signMetaBody } = await import('../../src/channels/meta/signature');
      const res = await fetch(`${h.baseUrl}/webhooks/meta`, {
        method: 'POST', body: raw,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), requestId);
    }
    assert.equal((await h.postWebhook(undefined, { raw: `{"text":"${CUSTOMER_MARKER}"` })).status, 400);
    assert.equal((await h.postWebhook(undefined, { raw: `${'['.repeat(100)}${']'.repeat(100)}` })).status, 400);
    assert.equal((await h.postWebhook({ text: CUSTOMER_MARKER }, { signature: null })).status, 401);
    await eventually(() => assert.ok(lines().some((l) => l.requestId === 'req-odd-1')));
  });
  after(async () => { await h?.stop(); });

  test('when messages, replies, failures and refusals went through, then no text, token, secret or full phone number was logged', () => {
    assert.ok(h.logs.length > 10, `a run worth scanning (${h.logs.length} lines)`);
    assertLogsClean(h.logs, {
      markers: [CUSTOMER_MARKER, AGENT_MARKER, 'MARKER-customer-7f3a9', 'MARKER-agent-b81c2', 'my card is 4242'],
      tokens: [META_TOKEN, CHATWOOT_TOKEN, APP_SECRET, VERIFY_TOKEN, ADMIN_KEY, h.inboxSecret, h.env.ENCRYPTION_KEYS!],
      phones: [CUSTOMER_PHONE],
    });
    // The customer's number does appear, masked, where the edge logs the unrouted event's ids.
    assert.ok(h.logs.some((l) => l.includes('***')), 'masked ids are logged');
  });

  test('when a line is written while a request or job is handled, then it carries that request id or job id', () => {
    assertLogsClean(h.logs, { context: true });
    const all = lines();
    const byRequest = (id: string) => all.filter((l) => l.requestId === id);
    // Written from the pipeline's routing, deep below the edge, yet stamped with the caller's X-Request-Id.
    assert.ok(byRequest('req-unrouted-1').some((l) => /no connection/.test(l.message ?? '')), 'the unrouted event is logged with its request id');
    assert.ok(byRequest('req-odd-1').some((l) => /not a customer event/.test(l.message ?? '')), 'the oddity is logged with its request id');
    // Jobs: the failed media download is logged inside the drain job.
    const media = all.filter((l) => /media download failed|will be retried/.test(l.message ?? ''));
    assert.ok(media.length > 0, 'the media failure is logged');
    for (const l of media) assert.match(String(l.jobId), /\S/, `job line without jobId: ${JSON.stringify(l)}`);
    assert.equal(media.filter((l) => l.requestId !== undefined).length, 0, 'a job line does not carry a request id that is not its own');
  });
});
