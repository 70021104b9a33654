/**
 * Dead letters on the real bridge (QUEUE_ATTEMPTS=1, so the first failure gives up): Chatwoot or Graph refuse
 * work, it is kept sealed (no text, no phone number in MongoDB or in the admin API), counted, listed per tenant
 * (another tenant gets 404), replayed after the fix (arrives exactly once, also when the first attempt had reached
 * the platform), discarded, and the same through the CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, createTenant, eventually, startHarness, testTenant, type Harness } from '../support/harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';
import { scanMongo } from '../support/at-rest-scan';
import { runCli } from '../support/cli';
import { DeadLetterRepository } from '../../src/store/dead-letters';

type Json = Record<string, any>;

describe('dead letters', () => {
  let h: Harness;
  let db: mongoose.Connection;
  before(async () => {
    h = await startHarness({ env: { QUEUE_ATTEMPTS: '1', RETENTION_DEAD_LETTER_DAYS: '3' } });
    db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
  });
  after(async () => {
    await db?.close();
    await h?.stop();
  });

  async function admin(method: string, path: string, opts: { key?: string; body?: unknown } = {}): Promise<{ status: number; json: Json; text: string }> {
    const res = await fetch(`${h.baseUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${opts.key ?? ADMIN_KEY}`, ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Json : {}, text };
  }

  /** One sample of /metrics (loopback may scrape without a token); 0 when the series is absent. */
  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  let seq = 0;
  const nowS = () => Math.floor(Date.now() / 1000);
  const newCustomer = () => `4917${String(Date.now() % 1e6).padStart(6, '0')}${String(++seq).padStart(2, '0')}`;
  const copiesOf = (id: string) => h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === id);

  /** A customer's message, forwarded; returns its Chatwoot conversation (contact and conversation then exist). */
  async function customerWrites(from: string, body: string): Promise<{ id: string; conversationId: number }> {
    const id = wamid();
    assert.equal((await h.postWebhook(delivery([[change([textMessage({ from, id, body, timestamp: nowS() })])]]))).status, 200);
    const m = await eventually(() => { const [x] = copiesOf(id); assert.ok(x); return x; });
    return { id, conversationId: m.conversation_id };
  }

  /** A message Chatwoot refuses for good (422): it becomes a dead letter, whose id is returned. */
  async function refusedMessage(from: string, body: string): Promise<{ wamid: string; letterId: string; payload: Json }> {
    const id = wamid();
    h.chatwoot.failNext(/\/messages$/, 1, { status: 422, body: { error: 'refused by the test' } });
    const payload = delivery([[change([textMessage({ from, id, body, timestamp: nowS() })])]]);
    assert.equal((await h.postWebhook(payload)).status, 200);
    const letterId = await eventually(async () => {
      const found = await db.collection('dead_letters').findOne({ eventId: `message:${id}` });
      assert.ok(found, 'dead letter written');
      return String(found._id);
    }, 10_000);
    return { wamid: id, letterId, payload };
  }

  /** Until the lane has worked the replayed event: its idempotency claim is done. */
  async function forwardedAgain(connectionId: string, id: string): Promise<void> {
    await eventually(async () => assert.equal((await db.collection('inbound_keys').findOne({ _id: `${connectionId}:${id}` as never }))?.state, 'done'), 10_000);
  }

  test('when Chatwoot refuses messages for good, then they are kept sealed, counted, listed; a replay after the fix delivers one exactly once and a discard drops the other', async () => {
    const from = newCustomer();
    await customerWrites(from, 'warm up');
    const totalBefore = await metric('bridge_dead_letters_total', { direction: 'inbound' });
    const first = await refusedMessage(from, 'dead-letter secret text ONE');
    const second = await refusedMessage(from, 'dead-letter secret text TWO');
    assert.equal(copiesOf(first.wamid).length + copiesOf(second.wamid).length, 0);

    // Listed with ids, kind, reason and attempts; no content, no phone number.
    const listed = await admin('GET', `/dead-letters?connectionId=${h.connectionId}`);
    assert.equal(listed.status, 200);
    const mine = (listed.json.deadLetters as Json[]).filter((d) => [first.letterId, second.letterId].includes(d.id));
    assert.equal(mine.length, 2);
    for (const d of mine) {
      assert.equal(d.direction, 'inbound');
      assert.equal(d.kind, 'message');
      assert.equal(d.attempts, 1);
      assert.equal(d.replayable, true);
      assert.match(d.reason, /422/);
      const ageMs = Date.parse(d.expiresAt) - Date.parse(d.createdAt);
      assert.equal(ageMs, 3 * 24 * 3600 * 1000, 'RETENTION_DEAD_LETTER_DAYS sets the expiry');
    }
    assert.deepEqual(mine.map((d) => d.id), [second.letterId, first.letterId], 'latest first');
    const shown = await admin('GET', `/dead-letters/${first.letterId}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.work.externalId, first.wamid);
    assert.equal(shown.json.work.customer, `***${from.slice(-4)}`);
    for (const body of [listed.text, shown.text]) {
      assert.ok(!body.includes('secret text') && !body.includes(from), 'the admin API shows no content and no phone number');
    }

    // MongoDB holds the work sealed only: not the text, not the phone number, anywhere.
    const scan = await scanMongo(h.env.MONGODB_URI!, ['dead-letter secret text']);
    assert.ok(scan.scanned > 0);
    assert.deepEqual(scan.findings, []);
    const stored = await db.collection('dead_letters').findOne({ _id: first.letterId as never });
    assert.ok(!JSON.stringify(stored).includes(from), 'no phone number in the dead letter');
    assert.match(stored!.payload.ct, /^gAAAAA/, 'a Fernet token');
    assert.match(stored!.payload.kid, /^[0-9a-f]{8}/);

    // Counted as they happen and as stored.
    assert.equal(await metric('bridge_dead_letters_total', { direction: 'inbound' }) - totalBefore, 2);
    assert.equal(await metric('bridge_dead_letters_stored', { direction: 'inbound' }), 2);

    // Chatwoot accepts again: the replay arrives exactly once and the dead letter is gone.
    const replayed = await admin('POST', `/dead-letters/${first.letterId}/replay`);
    assert.equal(replayed.status, 200, replayed.text);
    assert.deepEqual(replayed.json, { id: first.letterId, outcome: 'queued' });
    await eventually(() => assert.equal(copiesOf(first.wamid).length, 1), 10_000);
    await forwardedAgain(h.connectionId, first.wamid);
    assert.equal(copiesOf(first.wamid).length, 1);
    assert.equal((await admin('GET', `/dead-letters/${first.letterId}`)).status, 404);
    assert.equal((await admin('POST', `/dead-letters/${first.letterId}/replay`)).status, 404, 'a replay happens once');

    const discarded = await admin('DELETE', `/dead-letters/${second.letterId}`);
    assert.equal(discarded.status, 204);
    assert.equal((await admin('GET', `/dead-letters/${second.letterId}`)).status, 404);
    assert.equal(copiesOf(second.wamid).length, 0);

    assert.equal(await metric('bridge_dead_letters_resolved_total', { direction: 'inbound', action: 'replayed' }), 1);
    assert.equal(await metric('bridge_dead_letters_resolved_total', { direction: 'inbound', action: 'discarded' }), 1);
    assert.equal(await metric('bridge_dead_letters_stored', { direction: 'inbound' }), 0);
    const audit = (await admin('GET', '/audit?limit=10')).json.events as Json[];
    const replayAudit = audit.find((e) => e.action === 'dead_letter.replay' && e.target.id === first.letterId);
    assert.deepEqual(replayAudit?.details, { connectionId: h.connectionId, direction: 'inbound', kind: 'message', outcome: 'queued' });
    assert.equal(replayAudit?.actor, 'super-admin');
    assert.equal(replayAudit?.tenantId, await testTenant(h.baseUrl));
    assert.ok(audit.some((e) => e.action === 'dead_letter.discard' && e.target.id === second.letterId));
  });

  test('when another tenant asks for a dead letter, then it is not found; its owner sees and handles it', async () => {
    const letter = await refusedMessage(newCustomer(), 'tenant isolation text');
    const other = await createTenant(h.baseUrl, 'Other tenant');
    assert.deepEqual((await admin('GET', '/dead-letters', { key: other.apiKey })).json, { deadLetters: [] });
    assert.equal((await admin('GET', `/dead-letters?connectionId=${h.connectionId}`, { key: other.apiKey })).status, 404);
    for (const [method, path] of [['GET', `/dead-letters/${letter.letterId}`], ['POST', `/dead-letters/${letter.letterId}/replay`], ['DELETE', `/dead-letters/${letter.letterId}`]] as const) {
      const res = await admin(method, path, { key: other.apiKey });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.error.message, 'no such dead letter', 'the same answer as for an id that does not exist');
    }
    assert.equal((await admin('POST', '/dead-letters/replay', { key: other.apiKey, body: { connectionId: h.connectionId } })).status, 404);
    assert.equal((await admin('GET', '/dead-letters/dl_doesnotexist', { key: other.apiKey })).json.error.message, 'no such dead letter');
    assert.ok(await db.collection('dead_letters').findOne({ _id: letter.letterId as never }), 'still there');

    // The owning tenant (a fresh key for the test tenant) sees it and may discard it.
    const ownerKey = (await admin('POST', `/tenants/${await testTenant(h.baseUrl)}/api-key`)).json.apiKey as string;
    const ownList = (await admin('GET', '/dead-letters', { key: ownerKey })).json.deadLetters as Json[];
    assert.ok(ownList.some((d) => d.id === letter.letterId));
    assert.equal((await admin('DELETE', `/dead-letters/${letter.letterId}`, { key: ownerKey })).status, 204);
    const audit = (await admin('GET', '/audit?action=dead_letter.discard', { key: ownerKey })).json.events as Json[];
    assert.ok(audit.some((e) => e.target.id === letter.letterId && e.actor.startsWith('tenant:')));
  });

  test('when the first attempt reached Chatwoot but its answer was lost, then a replay finds it there and makes no second copy', async () => {
    const from = newCustomer();
    const { conversationId } = await customerWrites(from, 'warm up');
    const id = wamid();
    // Chatwoot stores the message, then answers 500: the bridge cannot tell, gives up (one attempt).
    h.chatwoot.setFaults({ errorAfterWorkRate: 1 });
    await h.postWebhook(delivery([[change([textMessage({ from, id, body: 'answer lost', timestamp: nowS() })])]]));
    const letter = await eventually(async () => {
      const found = await db.collection('dead_letters').findOne({ eventId: `message:${id}` });
      assert.ok(found);
      return found;
    }, 10_000);
    h.chatwoot.setFaults(undefined);
    assert.match(String(letter.reason), /500/);
    assert.equal(copiesOf(id).length, 1, 'the lost-answer attempt created it');

    // Its idempotency key is gone, as after RETENTION_IDEMPOTENCY_DAYS (8) while the dead letter is kept 14: the
    // replay must still look before it creates.
    await db.collection('inbound_keys').deleteOne({ _id: `${h.connectionId}:${id}` as never });
    const lookupsBefore = h.chatwoot.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/conversations/${conversationId}/messages`)).length;
    const replayed = await admin('POST', `/dead-letters/${String(letter._id)}/replay`);
    assert.equal(replayed.json.outcome, 'queued');
    await forwardedAgain(h.connectionId, id);
    assert.equal(copiesOf(id).length, 1, 'no second copy');
    const lookups = h.chatwoot.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/conversations/${conversationId}/messages`)).length;
    assert.equal(lookups - lookupsBefore, 1, 'the replay looked on Chatwoot before creating');
  });

  test('when Meta delivered the message again after it was dead-lettered, then the replay queues nothing and removes the dead letter', async () => {
    const from = newCustomer();
    await customerWrites(from, 'warm up');
    const letter = await refusedMessage(from, 'redelivered later');
    assert.equal((await h.postWebhook(letter.payload)).status, 200);
    await eventually(() => assert.equal(copiesOf(letter.wamid).length, 1), 10_000);
    await forwardedAgain(h.connectionId, letter.wamid);
    const replayed = await admin('POST', `/dead-letters/${letter.letterId}/replay`);
    assert.deepEqual(replayed.json, { id: letter.letterId, outcome: 'already_delivered' });
    assert.equal((await admin('GET', `/dead-letters/${letter.letterId}`)).status, 404);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(copiesOf(letter.wamid).length, 1);
  });

  test('when a reply fails midway (part 2 of 2), then the agent is told; a replay after the fix sends only part 2, and the agent then sees it delivered', async () => {
    const from = newCustomer();
    const { conversationId } = await customerWrites(from, 'send me the files');
    const sentTo = () => h.graph.sent.filter((s) => s.to === `+${from}`);
    let sends = 0;
    h.graph.onSend(async () => {
      sends += 1;
      if (sends === 1) h.graph.failNext(/\/messages$/, 1, { status: 500, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'x' } } });
    });
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, conversationId, {
      content: 'reply secret caption',
      attachments: [
        { bytes: Buffer.from('%PDF-1.4 fake'), mimeType: 'application/pdf', filename: 'invoice.pdf' },
        { bytes: Buffer.from('\x89PNG fake'), mimeType: 'image/png', filename: 'photo.png' },
      ],
    });
    const letter = await eventually(async () => {
      const found = await db.collection('dead_letters').findOne({ connectionId: h.connectionId, direction: 'outbound', kind: 'reply' });
      assert.ok(found);
      return found;
    }, 15_000);
    h.graph.onSend(undefined);
    assert.equal(sentTo().length, 1, 'part 1 went out');
    const chatwootMessage = () => h.chatwoot.messages(ACCOUNT_ID).find((m) => m.id === reply.id)!;
    await eventually(() => assert.equal(chatwootMessage().status, 'failed'));
    assert.deepEqual((await scanMongo(h.env.MONGODB_URI!, ['reply secret caption'])).findings, []);

    const shown = (await admin('GET', `/dead-letters/${String(letter._id)}`)).json;
    assert.equal(shown.work.platformMessageId, String(reply.id));
    assert.equal(shown.work.attachments, 2);
    assert.ok(!JSON.stringify(shown).includes('secret caption'));

    const replayed = await admin('POST', `/dead-letters/${String(letter._id)}/replay`);
    assert.equal(replayed.json.outcome, 'queued', replayed.text);
    const sent = await eventually(() => { const s = sentTo(); assert.equal(s.length, 2); return s; }, 10_000);
    assert.deepEqual(sent.map((s) => s.type), ['document', 'image'], 'part 1 was not sent again');
    for (const s of sent) {
      await h.postWebhook(delivery([[statusChange([{ id: s.id, status: 'delivered', recipient: from, timestamp: nowS() }])]]));
    }
    await eventually(() => assert.equal(chatwootMessage().status, 'delivered'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sentTo().length, 2);
  });

  test('when a dead letter cannot be replayed safely, then the replay is refused with the reason and it can still be discarded', async () => {
    const repo = new DeadLetterRepository(db, h.bridge!.keys, 24 * 3600 * 1000);
    const oldReply = {
      direction: 'outbound', connectionId: h.connectionId, receivedAt: Date.now() - 8 * 24 * 3600 * 1000,
      command: { kind: 'reply', platformMessageId: '999', platformConversationId: '1', recipient: { id: '4915100000000' }, reply: { content: 'old', attachments: [] }, createdAt: 0 },
    };
    const oldId = await repo.add({ connectionId: h.connectionId, direction: 'outbound', eventId: 'old-delivery', kind: 'reply', reason: 'test', attempts: 12, payload: oldReply });
    const refused = await admin('POST', `/dead-letters/${oldId}/replay`);
    assert.equal(refused.status, 409);
    assert.match(refused.json.error.message, /older than the delivery records/);
    // Written by an older version: ids only, no payload.
    await db.collection('dead_letters').insertOne({ _id: 'dl_legacy' as never, connectionId: h.connectionId, direction: 'inbound', eventId: 'message:wamid.legacy', reason: 'old', attempts: 3, createdAt: new Date(), expiresAt: new Date(Date.now() + 3600_000) });
    const legacy = await admin('GET', '/dead-letters/dl_legacy');
    assert.equal(legacy.json.replayable, false);
    assert.equal(legacy.json.kind, 'message');
    assert.equal((await admin('POST', '/dead-letters/dl_legacy/replay')).status, 409);
    const bulk = await admin('POST', '/dead-letters/replay', { body: { connectionId: h.connectionId } });
    assert.equal(bulk.status, 200);
    assert.deepEqual(bulk.json.refused.map((r: Json) => r.id).sort(), ['dl_legacy', oldId].sort());
    for (const id of [oldId, 'dl_legacy']) assert.equal((await admin('DELETE', `/dead-letters/${id}`)).status, 204);
  });

  test('when the CLI lists, shows, replays (one and a connection\'s) and discards dead letters, then the bridge does exactly that', async () => {
    const env = { BRIDGE_URL: h.baseUrl, BRIDGE_ADMIN_KEY: ADMIN_KEY };
    const from = newCustomer();
    await customerWrites(from, 'warm up');
    const one = await refusedMessage(from, 'cli one');
    const two = await refusedMessage(from, 'cli two');
    const three = await refusedMessage(from, 'cli three');
    const four = await refusedMessage(from, 'cli four');

    const listed = await runCli(['--json', 'dead-letters', 'list', '--connection', h.connectionId], env);
    assert.equal(listed.code, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as Json[]).map((d) => d.id);
    assert.deepEqual(ids, [four.letterId, three.letterId, two.letterId, one.letterId]);
    const table = await runCli(['dead-letters', 'list', '--limit', '2'], env);
    assert.match(table.stdout, /^id\s+connectionId\s+direction\s+kind\s+attempts\s+createdAt\s+reason\n/);
    assert.match(table.stdout, new RegExp(`${four.letterId}\\s+${h.connectionId}\\s+inbound\\s+message\\s+1\\s`));
    assert.equal(table.stdout.trim().split('\n').length, 3, 'header + --limit 2');
    const shown = await runCli(['dead-letters', 'show', one.letterId], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`eventId: message:${one.wamid.replace(/\./g, '\\.')}`));
    assert.ok(!shown.stdout.includes('cli one') && !shown.stdout.includes(from));

    const replayed = await runCli(['dead-letters', 'replay', one.letterId], env);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stderr, /replayed .*back in its lane/);
    await eventually(() => assert.equal(copiesOf(one.wamid).length, 1), 10_000);

    const unconfirmed = await runCli(['dead-letters', 'discard', two.letterId], env);
    assert.equal(unconfirmed.code, 1, 'discard needs --yes');
    const discarded = await runCli(['dead-letters', 'discard', two.letterId, '--yes'], env);
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.equal((await admin('GET', `/dead-letters/${two.letterId}`)).status, 404);

    const bulk = await runCli(['--json', 'dead-letters', 'replay', '--connection', h.connectionId], env);
    assert.equal(bulk.code, 0, bulk.stderr);
    const result = JSON.parse(bulk.stdout) as { replayed: Json[]; refused: Json[] };
    assert.deepEqual(result.replayed.map((r) => r.id), [three.letterId, four.letterId], 'oldest first');
    await eventually(() => assert.deepEqual([copiesOf(three.wamid).length, copiesOf(four.wamid).length], [1, 1]), 10_000);
    const order = h.chatwoot.messages(ACCOUNT_ID).filter((m) => [three.wamid, four.wamid].includes(String(m.source_id))).map((m) => m.source_id);
    assert.deepEqual(order, [three.wamid, four.wamid], 'replayed in their old order');
    assert.equal(copiesOf(two.wamid).length, 0, 'the discarded one never arrives');

    const missing = await runCli(['dead-letters', 'replay', one.letterId], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 not_found no such dead letter/);
    const neither = await runCli(['dead-letters', 'replay'], env);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, /either a dead letter id or --connection/);
  });
});
