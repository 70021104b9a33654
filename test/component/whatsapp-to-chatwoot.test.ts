/**
 * WhatsApp → Chatwoot, end to end: the real bridge, real Redis and MongoDB-wire server, fake Graph and Chatwoot
 * over real HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import Redis from 'ioredis';
import { ACCOUNT_ID, APP_SECRET, META_TOKEN, CHATWOOT_TOKEN, VERIFY_TOKEN, eventually, startHarness, type Harness } from '../support/harness';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';

const META_DIR = path.resolve(__dirname, '../../../shared/reference/meta');

function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(META_DIR, name), 'utf8'));
}

/** Every message fixture, made unique (Meta's examples reuse one wamid) and with media the Graph fake serves. */
function messageFixtures(): Array<{ name: string; body: Record<string, any>; ids: string[] }> {
  return readdirSync(META_DIR)
    .filter((f) => /^whatsapp-webhook-.*\.json$/.test(f))
    .map((name) => ({ name, body: fixture(name) }))
    .filter(({ body }) => body.entry?.some((e: any) => e.changes?.some((c: any) => c.value?.messages?.length)))
    .map(({ name, body }) => {
      const ids: string[] = [];
      for (const e of body.entry) for (const c of e.changes) for (const m of c.value.messages ?? []) {
        m.id = wamid();
        ids.push(m.id);
      }
      return { name, body, ids };
    });
}

describe('WhatsApp messages reach Chatwoot', () => {
  let h: Harness;
  before(async () => { h = await startHarness(); });
  after(async () => { await h?.stop(); });

  const messagesWithSource = (sourceId: string): any[] => h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === sourceId);

  test('when Meta verifies the endpoint, then only the configured token gets the challenge back', async () => {
    const ok = await fetch(`${h.baseUrl}/webhooks/meta?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '1158201444');
    const bad = await fetch(`${h.baseUrl}/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1158201444`);
    assert.equal(bad.status, 403);
    assert.doesNotMatch(await bad.text(), /1158201444/);
  });

  test('when the signature is missing or wrong, then 401 and nothing is queued', async () => {
    const body = delivery([[change([textMessage({ from: '16505550001', id: wamid(), body: 'unsigned', timestamp: 1750000000 })])]]);
    const missing = await h.postWebhook(body, { signature: null });
    const wrong = await h.postWebhook(body, { signature: `sha256=${createHash('sha256').update('x').digest('hex')}` });
    const otherSecret = await h.postWebhook(body, { signature: 'sha256=' + require('node:crypto').createHmac('sha256', 'not-the-secret').update(JSON.stringify(body)).digest('hex') });
    assert.deepEqual([missing.status, wrong.status, otherSecret.status], [401, 401, 401]);
    const empty = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 };
    assert.deepEqual(await h.bridge!.pipeline!.drains.getJobCounts(), empty as never);
    const redis = new Redis(h.env.REDIS_URL!);
    try {
      // Nothing reached a lane (where accepted events wait) nor the queues.
      assert.deepEqual(await redis.keys(`${h.env.QUEUE_PREFIX}:lane:*`), []);
      assert.deepEqual((await redis.keys(`${h.env.QUEUE_PREFIX}:*`)).filter((k) => /:lanes:\w/.test(k) && !/:(id|stalled-check)$/.test(k)), []);
    } finally { redis.disconnect(); }
  });

  test('when the body is not JSON, then 400; when it is over the limit, then 413', async () => {
    assert.equal((await h.postWebhook(null, { raw: '{"object":' })).status, 400);
    const huge = JSON.stringify({ object: 'whatsapp_business_account', pad: 'x'.repeat(4_000_000) });
    assert.equal((await h.postWebhook(null, { raw: huge })).status, 413);
  });

  test('when every WhatsApp message fixture is delivered, then each arrives with the right content and files', async () => {
    const bytesById = new Map<string, Buffer>();
    const fixtures = messageFixtures();
    for (const { body } of fixtures) {
      for (const e of body.entry) for (const c of e.changes) for (const m of c.value.messages ?? []) {
        const media = m[m.type];
        if (media?.id && ['image', 'document', 'sticker', 'audio', 'video'].includes(m.type)) {
          const bytes = Buffer.from(`fake ${m.type} bytes for ${media.id}`);
          h.graph.addMedia({ id: media.id, bytes, mimeType: media.mime_type });
          media.sha256 = createHash('sha256').update(bytes).digest('base64');
          bytesById.set(m.id, bytes);
        }
      }
    }
    for (const { name, body } of fixtures) {
      const res = await h.postWebhook(body);
      assert.equal(res.status, 200, name);
    }
    const expectations: Record<string, (m: any) => void> = {
      'whatsapp-webhook-text.json': (m) => assert.ok(m.content.length > 0),
      'whatsapp-webhook-spec-text-message.json': (m) => assert.ok(m.content.length > 0),
      'whatsapp-webhook-image.json': (m) => { assert.equal(m.content, 'Taj Mahal'); assert.equal(m.attachments.length, 1); },
      'whatsapp-webhook-spec-image-message.json': (m) => assert.equal(m.attachments.length, 1),
      'whatsapp-webhook-document.json': (m) => { assert.equal(m.attachments.length, 1); assert.match(m.attachments[0].filename, /\.\w+$/); },
      'whatsapp-webhook-sticker.json': (m) => { assert.equal(m.attachments.length, 1); assert.match(m.attachments[0].content_type, /image\/webp/); },
      'whatsapp-webhook-spec-location-message.json': (m) => assert.match(m.content, /maps\.google\.com\/\?q=-?\d/),
      'whatsapp-webhook-spec-contact-sharing-message.json': (m) => assert.match(m.content, /\+?\d[\d -]{6,}/),
      'whatsapp-webhook-spec-interactive-button-reply-message.json': (m) => assert.ok(m.content.length > 0 && !/⚠️/.test(m.content)),
      'whatsapp-webhook-spec-interactive-list-reply-message.json': (m) => assert.ok(m.content.length > 0 && !/⚠️/.test(m.content)),
      'whatsapp-webhook-interactive-button-reply.json': (m) => assert.ok(m.content.length > 0 && !/⚠️/.test(m.content)),
      'whatsapp-webhook-interactive-list-reply.json': (m) => assert.ok(m.content.length > 0 && !/⚠️/.test(m.content)),
      'whatsapp-webhook-spec-button-message.json': (m) => assert.ok(m.content.length > 0 && !/⚠️/.test(m.content)),
      'whatsapp-webhook-spec-reaction-message.json': (m) => assert.equal(m.content_attributes.is_reaction, true),
      'whatsapp-webhook-spec-system-message.json': (m) => assert.match(m.content, /changed/),
      'whatsapp-webhook-spec-unsupported-message.json': (m) => { assert.match(m.content, /could not be shown/); assert.equal(m.content_attributes.is_unsupported, true); },
    };
    for (const { name, body, ids } of fixtures) {
      for (const id of ids) {
        const [msg] = await eventually(() => {
          const found = messagesWithSource(id);
          assert.equal(found.length, 1, `${name}: expected the message once`);
          return found;
        });
        assert.equal(msg!.message_type, 0, `${name}: incoming`);
        const check = expectations[name];
        assert.ok(check, `no expectation written for fixture ${name}`);
        check(msg);
        const bytes = bytesById.get(id);
        if (bytes) assert.equal(msg!.attachments[0].sha256, createHash('sha256').update(bytes).digest('hex'), `${name}: file bytes`);
      }
      void body;
    }
    // One customer wrote all of them: one contact, one conversation.
    const contacts = h.chatwoot.contacts(ACCOUNT_ID).filter((c) => c.phone_number === '+16505551234');
    assert.equal(contacts.length, 1);
    const convs = h.chatwoot.conversations(ACCOUNT_ID).filter((c) => c.contact_id === contacts[0]!.id);
    assert.equal(convs.length, 1);
  });

  test('when voice notes and videos arrive, then they are uploaded with a useful name and type', async () => {
    const voiceBytes = Buffer.from('OggS fake opus voice');
    const videoBytes = Buffer.from('fake mp4 video bytes');
    const voiceId = h.graph.addMedia({ bytes: voiceBytes, mimeType: 'audio/ogg; codecs=opus' });
    const videoId = h.graph.addMedia({ bytes: videoBytes, mimeType: 'video/mp4' });
    const from = '4915112345678';
    const voice = { from, id: wamid(), timestamp: '1750000100', type: 'audio', audio: { mime_type: 'audio/ogg; codecs=opus', sha256: createHash('sha256').update(voiceBytes).digest('base64'), id: voiceId, voice: true } };
    const video = { from, id: wamid(), timestamp: '1750000101', type: 'video', video: { caption: 'look', mime_type: 'video/mp4', sha256: createHash('sha256').update(videoBytes).digest('base64'), id: videoId } };
    assert.equal((await h.postWebhook(delivery([[change([voice, video])]]))).status, 200);
    const [v] = await eventually(() => { const f = messagesWithSource(voice.id); assert.equal(f.length, 1); return f; });
    assert.match(v!.attachments[0].filename, /^voice-note\.ogg$/);
    assert.match(v!.attachments[0].content_type, /^audio\/ogg/);
    const [vid] = await eventually(() => { const f = messagesWithSource(video.id); assert.equal(f.length, 1); return f; });
    assert.equal(vid!.content, 'look');
    assert.equal(vid!.attachments[0].sha256, createHash('sha256').update(videoBytes).digest('hex'));
  });

  test('when a media download fails, then the message still arrives with a visible note', async () => {
    const msg = { from: '4915112340000', id: wamid(), timestamp: '1750000200', type: 'image', image: { caption: 'receipt', mime_type: 'image/jpeg', sha256: 'x', id: '999000111222' } };
    assert.equal((await h.postWebhook(delivery([[change([msg])]]))).status, 200);
    const [m] = await eventually(() => { const f = messagesWithSource(msg.id); assert.equal(f.length, 1); return f; }, 20_000);
    assert.match(m!.content, /^receipt/);
    assert.match(m!.content, /could not be downloaded/);
    assert.equal(m!.attachments.length, 0);
  });

  test('when one POST holds 3 entries × 2 messages, then 6 messages are created', async () => {
    const ids: string[] = [];
    const entries = [0, 1, 2].map((e) => [change([0, 1].map((i) => {
      const id = wamid(); ids.push(id);
      return textMessage({ from: `3361234500${e}${i}`, id, body: `batch ${e}.${i}`, timestamp: 1750001000 + i });
    }))]);
    assert.equal((await h.postWebhook(delivery(entries))).status, 200);
    await eventually(() => { for (const id of ids) assert.equal(messagesWithSource(id).length, 1); });
  });

  test('when the same POST arrives 5 times, then each message is created once', async () => {
    const ids = [wamid(), wamid()];
    const body = delivery([[change(ids.map((id, i) => textMessage({ from: '447700900123', id, body: `dup ${i}`, timestamp: 1750002000 + i })))]]);
    const statuses = await Promise.all([1, 2, 3, 4, 5].map(() => h.postWebhook(body)));
    assert.deepEqual(statuses.map((s) => s.status), [200, 200, 200, 200, 200]);
    await eventually(() => { for (const id of ids) assert.equal(messagesWithSource(id).length, 1); });
    // And later redeliveries (after the first went through) are still absorbed.
    await h.postWebhook(body);
    await new Promise((r) => setTimeout(r, 1000));
    for (const id of ids) assert.equal(messagesWithSource(id).length, 1);
  });

  test("when a customer's messages arrive out of order, then Chatwoot gets them in Meta's timestamp order", async () => {
    const from = '5511987654321';
    const msgs = Array.from({ length: 12 }, (_, i) => textMessage({ from, id: wamid(), body: `order ${i}`, timestamp: 1750003000 + i }));
    // Reversed inside one batch, and split over two deliveries.
    const reversed = [...msgs].reverse();
    await Promise.all([
      h.postWebhook(delivery([[change(reversed.slice(0, 6))]])),
      h.postWebhook(delivery([[change(reversed.slice(6))]])),
    ]);
    const received = await eventually(() => {
      const got = h.chatwoot.messages(ACCOUNT_ID).filter((m) => /^order \d+$/.test(m.content ?? ''));
      assert.equal(got.length, 12);
      return got;
    });
    assert.deepEqual(received.map((m) => m.content), msgs.map((m) => (m.text as { body: string }).body));
  });

  test('when Chatwoot fails for one customer, then other customers do not wait', async () => {
    const slow = '6591234567';
    const fast = '6598765432';
    const slowMsg: any = textMessage({ from: slow, id: wamid(), body: 'blocked one', timestamp: 1750004000 });
    // Create the slow customer's conversation first, then make its next message fail repeatedly.
    await h.postWebhook(delivery([[change([textMessage({ from: slow, id: wamid(), body: 'warm up', timestamp: 1750003999 })])]]));
    const warm = await eventually(() => { const f = h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.content === 'warm up'); assert.equal(f.length, 1); return f[0]!; });
    h.chatwoot.failNext(new RegExp(`/conversations/${warm.conversation_id}/messages$`), 6, { status: 503 });
    await h.postWebhook(delivery([[change([slowMsg])]]));
    const fastIds = [wamid(), wamid(), wamid()];
    await h.postWebhook(delivery([[change(fastIds.map((id, i) => textMessage({ from: fast, id, body: `fast ${i}`, timestamp: 1750004001 + i })))]]));
    await eventually(() => { for (const id of fastIds) assert.equal(messagesWithSource(id).length, 1); }, 5_000);
    assert.equal(messagesWithSource(slowMsg.id).length, 0, 'the failing customer is still retrying');
    await eventually(() => assert.equal(messagesWithSource(slowMsg.id).length, 1), 30_000);
  });

  test('when a customer has only a business-scoped user id, then they still become one stable contact', async () => {
    const bsuid = 'US.13491208655302741918';
    const mk = (i: number, withPhone: boolean) => ({
      field: 'messages',
      value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
        contacts: [{ profile: { name: 'Ana', username: 'ana.k' }, user_id: bsuid, ...(withPhone ? { wa_id: '34600111222' } : {}) }],
        messages: [{ ...(withPhone ? { from: '34600111222' } : {}), from_user_id: bsuid, id: wamid(), timestamp: String(1750005000 + i), type: 'text', text: { body: `bsuid ${i}` } }],
      },
    });
    const first = mk(0, false);
    const second = mk(1, false);
    const third = mk(2, true);
    for (const c of [first, second, third]) assert.equal((await h.postWebhook(delivery([[c]]))).status, 200);
    const got = await eventually(() => {
      const f = h.chatwoot.messages(ACCOUNT_ID).filter((m) => /^bsuid \d$/.test(m.content ?? ''));
      assert.equal(f.length, 3);
      return f;
    });
    assert.equal(new Set(got.map((m) => m.conversation_id)).size, 1, 'one conversation');
    const contacts = h.chatwoot.contacts(ACCOUNT_ID).filter((c) => String(c.identifier ?? '').includes(bsuid));
    assert.equal(contacts.length, 1, 'one contact');
  });

  test('when a phone_number_id has no connection, then it is acknowledged, counted and logged masked', async () => {
    const body = delivery([[change([textMessage({ from: '16505559999', id: wamid(), body: 'nobody home', timestamp: 1750006000 })], '999888777666555')]]);
    assert.equal((await h.postWebhook(body)).status, 200);
    await eventually(async () => {
      const text = await h.bridge!.metrics.registry.metrics();
      assert.match(text, /bridge_events_total\{channel="whatsapp",kind="message",outcome="unrouted"\} [1-9]/);
    });
    const line = h.logs.find((l) => l.includes('no connection'));
    assert.ok(line);
    assert.ok(!line.includes('999888777666555'));
    assert.match(line, /\*\*\*6555/);
  });

  test('when everything has run, then MongoDB holds no secret and no message text, and neither do the logs', async () => {
    const conn = mongoose.createConnection(h.env.MONGODB_URI!);
    await conn.asPromise();
    try {
      const dump: string[] = [];
      for (const { name } of await conn.db!.listCollections().toArray()) {
        const docs = await conn.db!.collection(name).find().toArray();
        dump.push(JSON.stringify(docs));
      }
      const all = dump.join('\n');
      assert.ok(all.length > 100, 'the collections hold records');
      for (const secret of [META_TOKEN, CHATWOOT_TOKEN, APP_SECRET, 'Taj Mahal', 'order 3', 'batch 1.1', 'blocked one', '16505551234', '5511987654321']) {
        assert.ok(!all.includes(secret), `MongoDB holds "${secret}"`);
      }
    } finally {
      await conn.close();
    }
    const logs = h.logs.join('\n');
    assert.ok(logs.length > 100);
    for (const secret of [META_TOKEN, CHATWOOT_TOKEN, APP_SECRET, h.env.ENCRYPTION_KEYS!, 'Taj Mahal', 'order 3', 'batch 1.1', 'blocked one', '16505551234', '5511987654321']) {
      assert.ok(!logs.includes(secret), `logs hold "${secret}"`);
    }
  });
});
