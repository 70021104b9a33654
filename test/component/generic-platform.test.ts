/**
 * The generic HTTP platform end to end: the real bridge, real Redis and MongoDB-wire server, the Graph fake and a
 * fake CRM that checks every signature with the reference verifier.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { ADMIN_KEY, APP_SECRET, META_TOKEN, eventually } from '../support/harness';
import { SIGNING_SECRET, createGenericConnection, startGenericHarness, type GenericHarness } from '../support/generic-harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';
import { verifyBridgeSignature, type ReceivedAttempt, type ReceivedEvent } from '../fakes/generic-platform';
import { contractSchemas, eventSchemaNames } from '../support/openapi';

const now = () => Math.floor(Date.now() / 1000);
const FIXTURES = path.resolve(__dirname, '../fixtures/whatsapp');

describe('generic HTTP platform', () => {
  let h: GenericHarness;
  before(async () => { h = await startGenericHarness(); });
  after(async () => { await h?.stop(); });

  let seq = 0;
  const newCustomer = () => `4930${String(++seq).padStart(8, '0')}`;
  const attemptsFor = (key: string): ReceivedAttempt[] => h.platform.attempts.filter((a) => a.idempotencyKey === key);
  const messageEvent = (metaId: string) => h.platform.events.find((e) => e.type === 'message' && e.data.meta_message_id === metaId);
  const sentTo = (from: string) => h.graph.sent.filter((s) => s.to === `+${from}`);

  async function customerWrites(from: string, text: string, timestamp = now()): Promise<ReceivedEvent> {
    const id = wamid();
    assert.equal((await h.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp })])]]))).status, 200);
    return eventually(() => { const e = messageEvent(id); assert.ok(e, 'not arrived'); return e; });
  }

  /** The key a message event will carry: known once an earlier event of the same customer arrived. */
  async function keyOfNext(from: string, text: string, arrange: () => void): Promise<{ id: string; key: () => string }> {
    const id = wamid();
    arrange();
    assert.equal((await h.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp: now() })])]]))).status, 200);
    return { id, key: () => messageEvent(id)!.id };
  }

  test('when a customer writes for the first time, then a contact event comes first, then the signed message', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'hello platform');
    const contactIndex = h.platform.events.findIndex((x) => x.type === 'contact' && x.data.customer.id === from);
    assert.ok(contactIndex >= 0 && contactIndex < h.platform.events.indexOf(e), 'contact before message');
    assert.deepEqual(h.platform.events[contactIndex]!.data.customer, { id: from, phone: from, name: `Customer ${from.slice(-4)}` });
    assert.match(e.conversation_id, /^cnv_[A-Za-z0-9_-]{22}$/, 'opaque: the bridge stores it, never the phone number');
    assert.equal(e.data.text, 'hello platform');
    assert.equal(e.data.meta_type, 'text');
    assert.equal(e.connection_id, h.connectionId);
    assert.equal(e.schema_version, 1);
    const [attempt] = attemptsFor(e.id);
    assert.equal(attempt!.verdict, 'ok');
    assert.match(attempt!.signature!, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(attempt!.schemaVersion, '1');
    assert.equal(attempt!.event, 'message');
    assert.equal(attempt!.connection, h.connectionId);
    assert.match(attempt!.contentType!, /^application\/json/);
    // A second message: the profile did not change, so no second contact event.
    await customerWrites(from, 'again');
    assert.equal(h.platform.events.filter((x) => x.type === 'contact' && x.data.customer.id === from).length, 1);
  });

  test('when a generic connection is created, then its API key (and a generated signing secret) are shown once, never again', async () => {
    const created = await createGenericConnection(h.baseUrl, h.platform.eventsUrl, { businessId: '106540352249999' });
    assert.match(created.apiKey, /^bk_[A-Za-z0-9_-]{43}$/);
    assert.match(created.signingSecret ?? '', /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.platformApiUrl, `${h.baseUrl}/platform/v1`);
    const res = await fetch(`${h.baseUrl}/admin/connections/${created.id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const shown = JSON.stringify(await res.json());
    assert.ok(!shown.includes(created.apiKey) && !shown.includes(created.signingSecret!), 'secrets are not shown again');
    assert.match(shown, /"kind":"generic".*"hasSigningSecret":true/);
    const missingUrl = await fetch(`${h.baseUrl}/admin/connections`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', channel: 'whatsapp', businessId: '106540352248888', metaAccessToken: 'EAAG-some-token', platform: { kind: 'generic' } }),
    });
    assert.equal(missingUrl.status, 400);
    assert.match(JSON.stringify(await missingUrl.json()), /platform\.url/);
    await fetch(`${h.baseUrl}/admin/connections/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  });

  test('when the platform answers 500 twice and then 200, then it receives the event once, with the same idempotency key each time', async () => {
    const from = newCustomer();
    await customerWrites(from, 'first, so the contact event is behind us');
    const next = await keyOfNext(from, 'retried message', () => h.platform.failNext(2, { status: 500, body: { error: 'database hiccup' } }));
    await eventually(() => assert.ok(messageEvent(next.id)), 15_000);
    const attempts = attemptsFor(next.key());
    assert.deepEqual(attempts.map((a) => a.status), [500, 500, 200]);
    assert.ok(attempts.every((a) => a.verdict === 'ok'), 'every attempt signed');
    assert.equal(new Set(attempts.map((a) => JSON.parse(a.raw).id)).size, 1, 'the same event id in every body');
    assert.equal(h.platform.events.filter((e) => e.id === next.key()).length, 1, 'received once');
  });

  test('when the platform does not answer in time, then the event is sent again under the same key and lands once', async () => {
    const from = newCustomer();
    await customerWrites(from, 'warm up');
    const duplicatesBefore = h.platform.duplicates;
    // The fake keeps the first attempt (as a slow CRM would) but answers after the bridge's 1 s timeout.
    const next = await keyOfNext(from, 'slow platform', () => h.platform.failNext(1, { status: 200, delayMs: 1_500 }));
    await eventually(() => assert.ok(h.platform.duplicates > duplicatesBefore), 15_000);
    assert.ok(attemptsFor(next.key()).length >= 2);
    assert.equal(h.platform.events.filter((e) => e.id === next.key()).length, 1);
  });

  test('when the platform answers 4xx, then the event is not retried and is dead-lettered with the reason', async () => {
    const from = newCustomer();
    await customerWrites(from, 'warm up');
    const next = await keyOfNext(from, 'refused', () => h.platform.failNext(1, { status: 422, body: { error: 'unknown customer segment' } }));
    const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
    try {
      const letter = await eventually(async () => {
        const found = await db.collection('dead_letters').findOne({ connectionId: h.connectionId, eventId: `message:${next.id}` });
        assert.ok(found, 'dead letter written');
        return found;
      }, 15_000);
      assert.match(String(letter.reason), /422 .*unknown customer segment/);
      assert.equal(letter.attempts, 1);
    } finally {
      await db.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.platform.attempts.filter((a) => a.status === 422).length, 1, 'not retried');
    assert.equal(messageEvent(next.id), undefined);
  });

  test('when a signature is tampered with or stale, then the reference verifier rejects it', async () => {
    const e = await customerWrites(newCustomer(), 'verify me');
    const attempt = attemptsFor(e.id).find((a) => a.status === 200)!;
    const header = attempt.signature!;
    const t = Number(/t=(\d+)/.exec(header)![1]);
    const raw = attempt.raw;
    assert.equal(verifyBridgeSignature(raw, header, SIGNING_SECRET, 300, t), 'ok');
    assert.equal(verifyBridgeSignature(raw.replace('verify me', 'verify mE'), header, SIGNING_SECRET, 300, t), 'mismatch', 'tampered body');
    assert.equal(verifyBridgeSignature(raw, header.replace(/v1=([0-9a-f])/, (_m, c: string) => `v1=${c === '0' ? '1' : '0'}`), SIGNING_SECRET, 300, t), 'mismatch', 'tampered signature');
    assert.equal(verifyBridgeSignature(raw, header.replace(/t=\d+/, `t=${t + 1}`), SIGNING_SECRET, 300, t), 'mismatch', 'tampered timestamp');
    assert.equal(verifyBridgeSignature(raw, header, 'another-secret-entirely-0123456789', 300, t), 'mismatch', 'other secret');
    assert.equal(verifyBridgeSignature(raw, header, SIGNING_SECRET, 300, t + 301), 'stale', 'too old');
    assert.equal(verifyBridgeSignature(raw, header, SIGNING_SECRET, 300, t - 301), 'stale', 'from the future');
    assert.equal(verifyBridgeSignature(raw, undefined, SIGNING_SECRET), 'missing');
    assert.equal(verifyBridgeSignature(raw, header.replace(/t=\d+,/, ''), SIGNING_SECRET), 'malformed');
    // A replay of the exact request later than the tolerance is refused by the fake itself.
    const replay = await fetch(h.platform.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-bridge-signature': header.replace(/t=\d+/, `t=${t - 600}`), 'idempotency-key': e.id },
      body: raw,
    });
    assert.equal(replay.status, 401);
  });

  test('when a reply is posted to /platform/v1/messages, then it reaches the Graph fake and its statuses come back as signed events', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'where is my order?');
    const messageId = `dsk-${randomUUID()}`;
    const res = await h.postReply({ message_id: messageId, conversation_id: e.conversation_id, text: 'It ships **today**', reply_to: { meta_message_id: e.data.meta_message_id } });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { message_id: messageId, conversation_id: e.conversation_id, status: 'queued' });
    const [sent] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
    assert.equal((sent!.body.text as { body: string }).body, 'It ships *today*');
    assert.deepEqual(sent!.body.context, { message_id: e.data.meta_message_id });
    for (const status of ['sent', 'delivered', 'read']) {
      await h.postWebhook(delivery([[statusChange([{ id: sent!.id, status, recipient: from, timestamp: now() }])]]));
      await eventually(() => assert.equal(h.platform.statusOf(messageId).status, status));
    }
    const statusEvents = h.platform.eventsOf('status').filter((s) => s.data.message_id === messageId);
    assert.deepEqual(statusEvents.map((s) => s.data.status), ['sent', 'delivered', 'read']);
    assert.ok(statusEvents.every((s) => s.conversation_id === e.conversation_id));
    for (const s of statusEvents) assert.ok(attemptsFor(s.id).every((a) => a.verdict === 'ok'), 'signed');
    // The customer answers the reply: the event names the platform's id of the quoted message.
    const quoting = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from, id: quoting, body: 'thanks!', timestamp: now(), contextId: sent!.id })])]]));
    const q = await eventually(() => { const x = messageEvent(quoting); assert.ok(x); return x; });
    assert.deepEqual(q.data.reply_to, { meta_message_id: sent!.id, message_id: messageId });
  });

  test('when the same reply is posted twice, then it is sent once', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'dedupe me');
    const body = { message_id: `dsk-${randomUUID()}`, conversation_id: e.conversation_id, text: 'only once' };
    assert.equal((await h.postReply(body)).status, 202);
    await eventually(() => assert.equal(sentTo(from).length, 1));
    assert.equal((await h.postReply(body)).status, 202);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(sentTo(from).length, 1);
  });

  test('when the API key is missing or wrong, then 401; when the body is invalid, then 400 naming each problem', async () => {
    const body = { message_id: 'x-1', conversation_id: '4930999', text: 'nope' };
    assert.equal((await h.postReply(body, null)).status, 401);
    assert.equal((await h.postReply(body, 'bk_not-the-key')).status, 401);
    const unknown = await h.postReply({ message_id: 'x-2', conversation_id: 'cnv_nobody', text: 'who?' });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(await unknown.json()), /not a conversation of this connection/);
    const bad = await h.postReply({ conversation_id: 5, media: [{ url: 'ftp://x/y' }] });
    assert.equal(bad.status, 400);
    const details = ((await bad.json()) as { error: { details: string[] } }).error.details.join(' | ');
    assert.match(details, /message_id/);
    assert.match(details, /conversation_id/);
    assert.match(details, /media\[0\]\.url/);
  });

  test('when a reply carries media by URL, then the bridge uploads the file to Meta and sends it', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'send me the invoice');
    const url = h.platform.serveFile('invoice.pdf', Buffer.from('%PDF-1.4 generic'), 'application/pdf');
    const res = await h.postReply({ message_id: `dsk-${randomUUID()}`, conversation_id: e.conversation_id, text: 'Here it is', media: [{ url, filename: 'invoice.pdf' }] });
    assert.equal(res.status, 202);
    const [sent] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
    assert.equal(sent!.type, 'document');
    const doc = sent!.body.document as { id?: string; caption?: string; filename?: string };
    assert.equal(doc.caption, 'Here it is');
    assert.equal(doc.filename, 'invoice.pdf');
    assert.ok(h.graph.media(doc.id!)?.bytes.equals(Buffer.from('%PDF-1.4 generic')));
  });

  test('when the 24-hour window has closed, then text fails with the template hint and a template goes out', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'old message', now() - 25 * 3600);
    const textId = `dsk-${randomUUID()}`;
    await h.postReply({ message_id: textId, conversation_id: e.conversation_id, text: 'hello again' });
    await eventually(() => {
      const s = h.platform.statusOf(textId);
      assert.equal(s.status, 'failed');
      assert.match(s.reason ?? '', /^131047: .*template/i);
    });
    const res = await h.postReply({ message_id: `dsk-${randomUUID()}`, customer: { id: from }, template: { name: 'order_update', language: 'en_US', parameters: ['Ana', '1042'] } });
    assert.equal(res.status, 202);
    const [t] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
    assert.equal(t!.type, 'template');
    const template = t!.body.template as { name: string; language: { code: string }; components: unknown[] };
    assert.equal(template.name, 'order_update');
    assert.equal(template.language.code, 'en_US');
    assert.deepEqual(template.components, [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: '1042' }] }]);
  });

  test('when telling the platform a status fails at first, then the status is retried until it lands', async () => {
    const from = newCustomer();
    const e = await customerWrites(from, 'status retry');
    const messageId = `dsk-${randomUUID()}`;
    await h.postReply({ message_id: messageId, conversation_id: e.conversation_id, text: 'watch my status' });
    const [sent] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
    h.platform.failNext(2, { status: 503 });
    await h.postWebhook(delivery([[statusChange([{ id: sent!.id, status: 'delivered', recipient: from, timestamp: now() }])]]));
    await eventually(() => assert.equal(h.platform.statusOf(messageId).status, 'delivered'), 15_000);
  });

  test('when a customer sends media, then the event links to the bridge, the link streams the file, and a tampered link is refused', async () => {
    const from = newCustomer();
    const bytes = Buffer.from(`OggS fake voice note ${randomUUID()}`);
    const mediaId = h.graph.addMedia({ bytes, mimeType: 'audio/ogg' });
    const id = wamid();
    const sha256 = createHash('sha256').update(bytes).digest('base64');
    await h.postWebhook(delivery([[change([{ from, id, timestamp: String(now()), type: 'audio', audio: { id: mediaId, mime_type: 'audio/ogg; codecs=opus', sha256, voice: true } }])]]));
    const e = await eventually(() => { const x = messageEvent(id); assert.ok(x); return x; });
    const [a] = e.data.attachments as Array<{ kind: string; url: string; url_expires_at: string; voice?: boolean; mime_type?: string }>;
    assert.equal(a!.kind, 'audio');
    assert.equal(a!.voice, true);
    assert.ok(a!.url.startsWith(`${h.baseUrl}/platform/v1/media/`));
    assert.ok(Date.parse(a!.url_expires_at) > Date.now());
    const requestsBefore = h.graph.requests.length;
    const got = await h.platform.download(a!.url);
    assert.equal(got.status, 200);
    assert.ok(got.bytes.equals(bytes));
    assert.match(got.headers.get('content-disposition') ?? '', /^attachment; filename="voice-note\.ogg"/);
    assert.equal(got.headers.get('cache-control'), 'private, no-store');
    assert.ok(h.graph.requests.length > requestsBefore, 'fetched from Meta on demand');
    const token = a!.url.split('/').pop()!;
    const tampered = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
    assert.equal((await h.platform.download(`${h.baseUrl}/platform/v1/media/${tampered}`)).status, 403);
    assert.equal((await h.platform.download(`${h.baseUrl}/platform/v1/media/not-a-token`)).status, 403);
  });

  test('when a customer reacts to, edits or deletes a message, then reaction, edit and delete events arrive for it', async () => {
    const from = '16505551234';
    const original = await customerWrites(from, 'Does it come in red?');
    const reactionId = wamid();
    await h.postWebhook(delivery([[change([{ from, id: reactionId, timestamp: String(now()), type: 'reaction', reaction: { message_id: original.data.meta_message_id, emoji: '❤️' } }])]]));
    const reaction = await eventually(() => { const x = h.platform.eventsOf('reaction').find((v) => v.data.meta_message_id === reactionId); assert.ok(x); return x; });
    assert.deepEqual(reaction.data.target, { meta_message_id: original.data.meta_message_id });
    assert.equal(reaction.data.emoji, '❤️');
    for (const name of ['edit-coexistence.json', 'revoke-coexistence.json']) {
      const raw = readFileSync(path.join(FIXTURES, name), 'utf8')
        .replaceAll('wamid.FIXTURE.ORIGINAL.1', original.data.meta_message_id)
        .replace(/wamid\.FIXTURE\.(EDIT|REVOKE)\.1/, wamid());
      await h.postWebhook(JSON.parse(raw));
    }
    const edit = await eventually(() => { const x = h.platform.eventsOf('edit').find((v) => v.data.target.meta_message_id === original.data.meta_message_id); assert.ok(x); return x; });
    assert.equal(edit.data.text, 'Does it come in blue?');
    const del = await eventually(() => { const x = h.platform.eventsOf('delete').find((v) => v.data.target.meta_message_id === original.data.meta_message_id); assert.ok(x); return x; });
    assert.equal(del.data.customer.id, from);
  });

  test('when a customer changes their profile name, then a contact event says so', async () => {
    const from = newCustomer();
    await customerWrites(from, 'hi');
    const id = wamid();
    const body = delivery([[change([textMessage({ from, id, body: 'new name', timestamp: now() })])]]);
    ((body.entry as any[])[0].changes[0].value.contacts[0].profile as { name: string }).name = 'Renamed Customer';
    await h.postWebhook(body);
    await eventually(() => assert.ok(messageEvent(id)));
    const contacts = h.platform.eventsOf('contact').filter((c) => c.data.customer.id === from);
    assert.deepEqual(contacts.map((c) => c.data.customer.name), [`Customer ${from.slice(-4)}`, 'Renamed Customer']);
  });

  test('when everything has run, then MongoDB holds no secret, phone number or message text, and neither do the logs', async () => {
    const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
    const forbidden = [META_TOKEN, APP_SECRET, SIGNING_SECRET, h.apiKey, 'hello platform', 'where is my order?', 'It ships', 'Does it come in', '16505551234', '493000000001', '493000000005'];
    try {
      const dump: string[] = [];
      for (const { name } of await db.db!.listCollections().toArray()) dump.push(JSON.stringify(await db.db!.collection(name).find().toArray()));
      const all = dump.join('\n');
      assert.ok(all.length > 100, 'the collections hold records');
      for (const secret of forbidden) assert.ok(!all.includes(secret), `MongoDB holds "${secret}"`);
    } finally {
      await db.close();
    }
    const logs = h.logs.join('\n');
    for (const secret of [...forbidden, h.env.ENCRYPTION_KEYS!]) assert.ok(!logs.includes(secret), `logs hold "${secret}"`);
  });

  test('every event the platform received matches the schema the OpenAPI document gives it', () => {
    const schemas = contractSchemas();
    const byType = eventSchemaNames();
    const seen = new Set<string>();
    for (const e of h.platform.events) {
      seen.add(e.type);
      assert.deepEqual(schemas.check(byType[e.type]!, e), [], `${e.type} ${e.id}`);
    }
    assert.deepEqual([...seen].sort(), ['contact', 'delete', 'edit', 'message', 'reaction', 'status']);
  });
});
