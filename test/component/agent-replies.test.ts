/**
 * Agent replies reach WhatsApp, and the agent sees what became of each one: Chatwoot fake → bridge → Graph fake,
 * and Meta statuses → Chatwoot message status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ACCOUNT_ID, ADMIN_KEY, eventually, startHarness, testTenant, type Harness } from '../support/harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';

describe('agent replies reach WhatsApp', () => {
  let h: Harness;
  // No ffmpeg here on purpose: the fallback (audio WhatsApp refuses fails with advice) is what is tested.
  before(async () => { h = await startHarness({ env: { FFMPEG_PATH: '/nonexistent/ffmpeg' } }); });
  after(async () => { await h?.stop(); });

  let customerSeq = 0;
  /** A customer writes; returns the Chatwoot conversation and message it became. */
  async function customerWrites(text = 'hello'): Promise<{ from: string; conversationId: number; messageId: number; wamid: string }> {
    customerSeq += 1;
    const from = `3069${String(customerSeq).padStart(8, '0')}`;
    const id = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp: Math.floor(Date.now() / 1000) })])]]));
    const msg = await eventually(() => {
      const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id);
      assert.ok(m);
      return m;
    });
    return { from, conversationId: msg.conversation_id, messageId: msg.id, wamid: id };
  }

  const inboxSecret = () => h.inboxSecret;
  const signedChatwoot = (payload: unknown): RequestInit => {
    const body = JSON.stringify(payload);
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = 'sha256=' + createHmac('sha256', inboxSecret()).update(`${ts}.${body}`).digest('hex');
    return { method: 'POST', headers: { 'content-type': 'application/json', 'x-chatwoot-timestamp': ts, 'x-chatwoot-signature': sig, 'x-chatwoot-delivery': `typing-${ts}-${Math.random()}` }, body };
  };
  const sentTo = (from: string) => h.graph.sent.filter((s) => s.to === `+${from}`);
  const chatwootMessage = (id: number) => h.chatwoot.messages(ACCOUNT_ID).find((m) => m.id === id)!;

  test('when an agent replies with text, three attachments and a reply-to, then the Graph calls come in order, each attachment once', async () => {
    const c = await customerWrites('can you send the documents?');
    // The third part fails once with a 500: the retry must not send parts 1 and 2 again.
    let sends = 0;
    h.graph.onSend(async () => {
      sends += 1;
      if (sends === 2) h.graph.failNext(/\/messages$/, 1, { status: 500, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'x' } } });
    });
    const sendRequestsBefore = h.graph.requests.filter((r) => r.method === 'POST' && /\/messages$/.test(r.path)).length;
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, {
      content: 'Here they are **today**',
      attachments: [
        { bytes: Buffer.from('%PDF-1.4 fake'), mimeType: 'application/pdf', filename: 'invoice.pdf' },
        { bytes: Buffer.from('\x89PNG fake'), mimeType: 'image/png', filename: 'photo.png' },
        { bytes: Buffer.from('fake mp4'), mimeType: 'video/mp4', filename: 'clip.mp4' },
      ],
      contentAttributes: { in_reply_to: c.messageId },
    });
    const sent = await eventually(() => { const s = sentTo(c.from); assert.equal(s.length, 3); return s; }, 20_000);
    h.graph.onSend(undefined);
    assert.deepEqual(sent.map((s) => s.type), ['document', 'image', 'video']);
    const doc = sent[0]!.body.document as { caption?: string; filename?: string; id?: string };
    assert.equal(doc.caption, 'Here they are *today*');
    assert.equal(doc.filename, 'invoice.pdf');
    assert.ok(doc.id && doc.id !== '<upload>');
    assert.deepEqual(sent[0]!.body.context, { message_id: c.wamid });
    assert.equal(sent[1]!.body.context, undefined);
    // The read receipt follows the last part; wait for it so the count below is complete.
    await eventually(() => assert.ok(h.graph.reads.some((r) => r.messageId === c.wamid)));
    const sendRequests = h.graph.requests.filter((r) => r.method === 'POST' && /\/messages$/.test(r.path)).length - sendRequestsBefore;
    // 3 accepted + 1 refused (the injected 500) + the read receipt.
    assert.equal(sendRequests, 5, 'the failed third part was retried, the first two were not sent again');
    assert.equal(new Set(sent.map((s) => s.id)).size, 3);
    // Every part is recorded, so statuses find their way back.
    for (const s of sent) {
      await h.postWebhook(delivery([[statusChange([{ id: s.id, status: 'delivered', recipient: c.from, timestamp: Math.floor(Date.now() / 1000) }])]]));
    }
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'delivered'));
  });

  test('when statuses arrive sent → read → delivered, then the agent sees read; failed shows the reason', async () => {
    const c = await customerWrites();
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'status test' });
    const [s] = await eventually(() => { const x = sentTo(c.from); assert.equal(x.length, 1); return x; });
    const ts = Math.floor(Date.now() / 1000);
    for (const status of ['sent', 'read', 'delivered']) {
      await h.postWebhook(delivery([[statusChange([{ id: s!.id, status, recipient: c.from, timestamp: ts }])]]));
    }
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'read'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(chatwootMessage(reply.id).status, 'read', 'delivered after read does not step back');

    const c2 = await customerWrites();
    const reply2 = h.chatwoot.createAgentReply(ACCOUNT_ID, c2.conversationId, { content: 'will fail' });
    const [s2] = await eventually(() => { const x = sentTo(c2.from); assert.equal(x.length, 1); return x; });
    await h.postWebhook(delivery([[statusChange([{ id: s2!.id, status: 'failed', recipient: c2.from, timestamp: ts, errors: [{ code: 131026, title: 'Message undeliverable', error_data: { details: 'Message Undeliverable.' } }] }])]]));
    await eventually(() => {
      const m = chatwootMessage(reply2.id);
      assert.equal(m.status, 'failed');
      assert.match(String((m.content_attributes as Record<string, unknown>).external_error), /^131026: .+ — /);
    });
  });

  test('when a status arrives before the send is recorded, then it is held and applied once it is', async () => {
    const c = await customerWrites();
    h.graph.onSend(async (id) => {
      // Meta's webhook beats the send response: deliver "read" now, before the bridge records the send.
      const res = await h.postWebhook(delivery([[statusChange([{ id, status: 'read', recipient: c.from, timestamp: Math.floor(Date.now() / 1000) }])]]));
      assert.equal(res.status, 200);
      await eventually(async () => {
        const text = await h.bridge!.metrics.registry.metrics();
        assert.match(text, /bridge_events_total\{channel="whatsapp",kind="status",outcome="held"\} [1-9]/);
      });
    });
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'race' });
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'read'), 15_000);
    h.graph.onSend(undefined);
  });

  test('when the same Chatwoot webhook arrives 3 times, then the reply is sent once; notes and bridge-created messages never go out', async () => {
    const c = await customerWrites('dedupe');
    h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'a private note', private: true });
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'once only' });
    await eventually(() => assert.equal(sentTo(c.from).length, 1));
    await h.chatwoot.webhooksSettled();
    const delivered = h.chatwoot.webhookDeliveries.find((d) => d.messageId === reply.id && d.event === 'message_created');
    assert.ok(delivered, 'the fake delivered the agent message');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(delivered.url, { method: 'POST', headers: delivered.headers, body: delivered.body });
      assert.equal(res.status, 200);
    }
    // The same message under a fresh delivery id (Chatwoot emits duplicate message_created events).
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = 'sha256=' + createHmac('sha256', inboxSecret()).update(`${ts}.${delivered.body}`).digest('hex');
    await fetch(delivered.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chatwoot-delivery': 'another-delivery-id', 'x-chatwoot-timestamp': ts, 'x-chatwoot-signature': sig }, body: delivered.body });
    await new Promise((r) => setTimeout(r, 1500));
    const texts = sentTo(c.from).map((s) => (s.body.text as { body?: string } | undefined)?.body);
    assert.deepEqual(texts, ['once only']);
    // The customer's own message came back as a webhook too (it was created by the bridge): never sent.
    assert.ok(!h.graph.sent.some((s) => (s.body.text as { body?: string } | undefined)?.body === 'dedupe'));
  });

  test('when the Chatwoot signature is bad or stale, then 401 and nothing is sent', async () => {
    const c = await customerWrites();
    const before = h.graph.sent.length;
    const body = JSON.stringify({ event: 'message_created', id: 999999, message_type: 'outgoing', private: false, source_id: null, content: 'forged', inbox: { id: h.inboxId }, conversation: { id: c.conversationId, inbox_id: h.inboxId, contact_inbox: { source_id: c.from } } });
    const url = `${h.baseUrl}/webhooks/chatwoot/${h.connectionId}`;
    const now = Math.floor(Date.now() / 1000);
    const sign = (secret: string, ts: number) => 'sha256=' + createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');

    const wrong = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chatwoot-timestamp': String(now), 'x-chatwoot-signature': sign('wrong-secret', now) }, body });
    const stale = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chatwoot-timestamp': String(now - 600), 'x-chatwoot-signature': sign(inboxSecret(), now - 600) }, body });
    const missing = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.deepEqual([wrong.status, stale.status, missing.status], [401, 401, 401]);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.graph.sent.length, before);
  });

  test('when Chatwoot is older than 4.13 (no signing), then only the per-connection URL token is accepted', async () => {
    const res = await fetch(`${h.baseUrl}/admin/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tenantId: await testTenant(h.baseUrl),
        name: 'Old Chatwoot', channel: 'whatsapp', businessId: '106540352249999', metaAccessToken: 'EAAG-another-token-abcdefghij',
        platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: 'cw-agent-token-abcdefghijkl' },
      }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { id: string; chatwootWebhookUrl: string };
    const path = new URL(created.chatwootWebhookUrl).pathname;
    assert.match(path, new RegExp(`^/webhooks/chatwoot/${created.id}/[A-Za-z0-9_-]{32}$`));
    const body = JSON.stringify({ event: 'conversation_updated', conversation: { id: 1, inbox_id: h.inboxId } });
    const post = (p: string) => fetch(`${h.baseUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await post(path)).status, 200);
    assert.equal((await post(`/webhooks/chatwoot/${created.id}`)).status, 401);
    assert.equal((await post(`/webhooks/chatwoot/${created.id}/${'x'.repeat(32)}`)).status, 401);
  });

  test('when Graph answers 429 and 5xx, then the reply is retried and goes out', async () => {
    const c = await customerWrites();
    h.graph.failNext(/\/messages$/, 2, { status: 429, body: { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' }, fbtrace_id: 'x' } } });
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'after throttling' });
    await eventually(() => assert.equal(sentTo(c.from).length, 1), 20_000);
    assert.notEqual(chatwootMessage(reply.id).status, 'failed');
  });

  test('when Meta answers 131047, then it is not retried and the agent sees the template hint', async () => {
    const c = await customerWrites();
    h.graph.failNext(/\/messages$/, 1, { status: 400, body: { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }, fbtrace_id: 'x' } } });
    const before = h.graph.requests.filter((r) => /\/messages$/.test(r.path)).length;
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'too late' });
    await eventually(() => {
      const m = chatwootMessage(reply.id);
      assert.equal(m.status, 'failed');
      assert.match(String((m.content_attributes as Record<string, unknown>).external_error), /^131047: .*template/i);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const attempts = h.graph.requests.filter((r) => /\/messages$/.test(r.path)).length - before;
    assert.equal(attempts, 1, 'not retried');
  });

  test('when the customer has not written for 24 hours, then a free-form reply fails at once with the template hint', async () => {
    customerSeq += 1;
    const from = `3069${String(customerSeq).padStart(8, '0')}`;
    const id = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from, id, body: 'old message', timestamp: Math.floor(Date.now() / 1000) - 25 * 3600 })])]]));
    const msg = await eventually(() => { const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id); assert.ok(m); return m; });
    const before = h.graph.requests.length;
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, msg.conversation_id, { content: 'hello again' });
    await eventually(() => {
      const m = chatwootMessage(reply.id);
      assert.equal(m.status, 'failed');
      assert.match(String((m.content_attributes as Record<string, unknown>).external_error), /^131047: .*template/i);
    });
    assert.equal(h.graph.requests.filter((r, i) => i >= before && /\/messages$/.test(r.path)).length, 0, 'no round trip to Meta');
    // A template command still goes out outside the window.
    h.chatwoot.createAgentReply(ACCOUNT_ID, msg.conversation_id, { content: '/template order_update en_US | Ana | 1042' });
    const t = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s[0]!; });
    assert.equal(t.type, 'template');
    assert.equal((t.body.template as { name: string }).name, 'order_update');
  });

  test('when an agent attaches audio WhatsApp refuses and there is no ffmpeg, then accepted audio goes and the agent learns why the rest did not', async () => {
    const c = await customerWrites();
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, {
      content: null,
      attachments: [
        { bytes: Buffer.from('ID3 fake mp3'), mimeType: 'audio/mpeg', filename: 'memo.mp3' },
        { bytes: Buffer.from('RIFF fake wav'), mimeType: 'audio/wav', filename: 'memo.wav' },
      ],
    });
    await eventually(() => {
      const m = chatwootMessage(reply.id);
      assert.equal(m.status, 'failed');
      assert.match(String((m.content_attributes as Record<string, unknown>).external_error), /audio\/wav.*ffmpeg/);
    });
    assert.deepEqual(sentTo(c.from).map((s) => s.type), ['audio']);
  });

  test('when an agent starts typing, then WhatsApp shows the typing indicator on the customer message', async () => {
    const c = await customerWrites();
    const res = await fetch(`${h.baseUrl}/webhooks/chatwoot/${h.connectionId}`, signedChatwoot({
      event: 'conversation_typing_on', is_private: false, user: { id: 3, name: 'Agent', type: 'user' },
      conversation: { id: c.conversationId, inbox_id: h.inboxId, contact_inbox: { source_id: c.from } },
    }));
    assert.equal(res.status, 200);
    await eventually(() => assert.ok(h.graph.reads.some((r) => r.messageId === c.wamid && r.typing)));
  });

  test('when an agent replies, then the customer message is marked read on WhatsApp', async () => {
    const c = await customerWrites();
    h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'read receipt please' });
    await eventually(() => assert.ok(h.graph.reads.some((r) => r.messageId === c.wamid)));
  });

  test('when Meta says the token is invalid (190), then the connection needs re-authorisation, visible in the admin API', async () => {
    const c = await customerWrites();
    h.graph.failNext(/\/messages$/, 1, { status: 401, body: { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, fbtrace_id: 'x' } } });
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'token expired' });
    await eventually(() => assert.equal(chatwootMessage(reply.id).status, 'failed'));
    const res = await fetch(`${h.baseUrl}/admin/connections/${h.connectionId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(((await res.json()) as { health: string }).health, 'needs_reauth');
    // Inbound still flows for a connection that needs re-authorisation.
    await customerWrites('still arrives');
  });
});
