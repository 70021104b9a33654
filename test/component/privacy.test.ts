/**
 * Privacy by construction (issue 9), on the real bridge with real Redis and the MongoDB-wire server CI runs:
 * Meta's signed Data Deletion and Deauthorize callbacks (valid and tampered), erasure of one end user through the
 * admin API and the CLI, connection and tenant deletion leaving nothing behind, and expiry (TTL index where the
 * server has one, the sweeper everywhere). "Nothing remains" is checked on the raw storage: every document of every
 * collection and every Redis key, counted before and after.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, APP_SECRET, CHATWOOT_TOKEN, META_TOKEN, PHONE_NUMBER_ID, createTenant, eventually, startHarness, type Harness } from '../support/harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';
import { allDocuments, allKeys, mentioning } from '../support/storage-scan';
import { runCli } from '../support/cli';
import { requireServices } from '../support/env';
import { startGenericHarness, type GenericHarness } from '../support/generic-harness';
import { contractSchemas, eventSchemaNames } from '../support/openapi';
import { signRequest } from '../../src/channels/meta/signed-request';
import { KeyRing } from '../../src/crypto/keyring';
import { customerLane } from '../../src/queue/pipeline';
import type { LanePayload } from '../../src/queue/pipeline';
import { customerIdsIn } from '../../src/queue/lane-eraser';
import { DeliveryRepository } from '../../src/store/deliveries';
import { ContactLinkRepository } from '../../src/store/contact-links';

type Json = Record<string, any>;
const now = () => Math.floor(Date.now() / 1000);

describe('privacy', () => {
  let h: Harness;
  let prefix: string;
  let ring: KeyRing;

  // Retries wait 15–30 s here, so a message whose platform call fails stays queued while a test looks at it.
  before(async () => {
    h = await startHarness({ env: { QUEUE_BACKOFF_BASE_MS: '30000', QUEUE_BACKOFF_MAX_MS: '60000' } });
    prefix = h.env.QUEUE_PREFIX!;
    ring = KeyRing.fromList(h.env.ENCRYPTION_KEYS!.split(','));
  });
  after(async () => h?.stop());

  const call = (key: string, method: string, path: string, body?: unknown) => fetch(`${h.baseUrl}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => fetch(`${h.baseUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(),
  });
  const docs = () => allDocuments(h.env.MONGODB_URI!);
  const keys = () => allKeys(h.env.REDIS_URL!, prefix);
  /** Every queued lane entry, opened. */
  const queued = async (): Promise<LanePayload[]> => (await keys())
    .filter((k) => k.key.endsWith(':e'))
    .flatMap((k) => Object.values(JSON.parse(k.text) as Record<string, string>).map((sealed) => JSON.parse(ring.decrypt(sealed)) as LanePayload));

  async function customerWrites(from: string, body: string, phoneNumberId = PHONE_NUMBER_ID): Promise<string> {
    const id = wamid();
    const res = await h.postWebhook(delivery([[change([textMessage({ from, id, body, timestamp: now() })], phoneNumberId)]]));
    assert.equal(res.status, 200);
    return id;
  }
  const messageOf = (sourceId: string) => eventually(() => {
    const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === sourceId);
    assert.ok(m, `no Chatwoot message for ${sourceId}`);
    return m;
  });

  describe('erasing one end user', () => {
    const A = '4915112345001';
    const B = '4915112345002';
    let convA: number;
    let identifiersA: string[];
    let footprintB: number;
    let mb: string;

    before(async () => {
      // A: a forwarded message, an agent reply with its statuses, a status for a send the bridge never made (held),
      // a message the platform refused for good (dead letter), and one still queued (the platform answers 500).
      const m1 = await customerWrites(A, 'first message');
      convA = (await messageOf(m1)).conversation_id;
      const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, convA, { content: 'an answer' });
      const sent = await eventually(() => { const s = h.graph.sent.find((x) => x.to === `+${A}`); assert.ok(s); return s; }, 15_000);
      await h.postWebhook(delivery([[statusChange([{ id: sent.id, status: 'delivered', recipient: A, timestamp: now() }])]]));
      await eventually(() => assert.equal(h.chatwoot.messages(ACCOUNT_ID).find((m) => m.id === reply.id)?.status, 'delivered'));
      const foreignSend = wamid();
      await h.postWebhook(delivery([[statusChange([{ id: foreignSend, status: 'read', recipient: A, timestamp: now() }])]]));
      const convPath = new RegExp(`/conversations/${convA}/messages$`);
      h.chatwoot.failNext(convPath, 1, { status: 422, body: { error: 'refused for good' } });
      const m2 = await customerWrites(A, 'this one is refused');
      await eventually(async () => assert.ok((await docs()).some((d) => d.collection === 'dead_letters' && d.json.includes(m2))));
      h.chatwoot.failNext(convPath, 1000, { status: 500 });
      const m3 = await customerWrites(A, 'this one waits');
      await eventually(async () => assert.ok((await queued()).some((p) => p.direction === 'inbound' && p.event.externalId === m3)));
      await eventually(async () => assert.ok((await docs()).some((d) => d.collection === 'held_statuses' && d.json.includes(foreignSend))));

      mb = await customerWrites(B, 'I stay');
      await messageOf(mb);
      await eventually(async () => assert.ok((await docs()).some((d) => d.collection === 'inbound_keys' && d.json.includes(mb) && d.doc.state === 'done')));
      identifiersA = [A, m1, m2, m3, sent.id, foreignSend, `${h.connectionId}:out:${reply.id}`,
        DeliveryRepository.customerKeyOf(h.connectionId, A), ContactLinkRepository.keyOf(h.connectionId, A), customerLane(h.connectionId, A)];
      footprintB = mentioning(await docs(), [B, mb, DeliveryRepository.customerKeyOf(h.connectionId, B)]).length;
    });

    test('when the tenant enabled platform erasure and an admin erases A by phone number, then nothing about A remains in MongoDB, Redis or Chatwoot, and B is untouched', async () => {
      const before = mentioning(await docs(), identifiersA);
      const beforeKeys = mentioning(await keys(), identifiersA);
      const byCollection = new Set(before.map((d) => d.collection));
      for (const c of ['delivery_records', 'inbound_keys', 'contact_links', 'dead_letters', 'held_statuses', 'platform_messages']) assert.ok(byCollection.has(c), `A has nothing in ${c} yet`);
      assert.ok(beforeKeys.length > 0, 'A has a lane');
      assert.ok((await queued()).some((p) => customerIdsIn(p).includes(A)));
      assert.ok(h.chatwoot.contacts(ACCOUNT_ID).some((c) => c.phone_number === `+${A}`));

      const tenantId = (await (await call(ADMIN_KEY, 'GET', `/admin/connections/${h.connectionId}`)).json() as Json).tenantId;
      assert.equal((await call(ADMIN_KEY, 'PUT', `/admin/tenants/${tenantId}/privacy`, { eraseContactsOnPlatform: true })).status, 200);
      const res = await call(ADMIN_KEY, 'POST', '/admin/erasure', { connectionId: h.connectionId, customerId: `+49 151 12345-001` });
      const report = await res.json() as Json;
      assert.equal(res.status, 200, JSON.stringify(report));
      assert.ok(report.records.total >= before.length, JSON.stringify(report));
      assert.ok(report.queue.entries >= 1);
      assert.equal(report.platform.outcome, 'deleted');
      assert.ok(!JSON.stringify(report).includes(A), 'the answer does not repeat the id');

      assert.deepEqual(mentioning(await docs(), identifiersA).map((d) => `${d.collection}: ${d.json}`), []);
      assert.deepEqual(mentioning(await keys(), identifiersA).map((k) => k.key), []);
      assert.ok(!(await queued()).some((p) => customerIdsIn(p).includes(A)), 'no queued work of A');
      assert.ok(!(await docs()).some((d) => d.collection === 'delivery_records' && d.doc.platformConversationId === String(convA)));
      assert.ok(!h.chatwoot.contacts(ACCOUNT_ID).some((c) => c.phone_number === `+${A}`), 'the Chatwoot contact is gone');
      assert.ok(!h.chatwoot.conversations(ACCOUNT_ID).some((c) => c.id === convA), 'with its conversation');
      assert.equal(mentioning(await docs(), [B, mb, DeliveryRepository.customerKeyOf(h.connectionId, B)]).length, footprintB, "B's records are all there");
      assert.ok(h.chatwoot.contacts(ACCOUNT_ID).some((c) => c.phone_number === `+${B}`), "B's contact stays");

      const audit = await (await call(ADMIN_KEY, 'GET', '/admin/audit?action=customer.erase')).json() as Json;
      assert.equal(audit.events[0].target.id, h.connectionId);
      assert.equal(audit.events[0].details.platform, 'deleted');
      assert.ok(!JSON.stringify(audit).includes(A.slice(-6)), 'the audit event names no phone number, not even in part');
    });

    test('when A writes again after the erasure, then A is a new customer and is forwarded as usual', async () => {
      h.chatwoot.reset();
      const again = await customerWrites(A, 'hello again');
      await messageOf(again);
    });

    test("when another tenant's key asks to erase on this connection, then it is not found (404) and nothing happens", async () => {
      const other = await createTenant(h.baseUrl, 'Other tenant');
      const before = (await docs()).length;
      assert.equal((await call(other.apiKey, 'POST', '/admin/erasure', { connectionId: h.connectionId, customerId: B })).status, 404);
      assert.equal((await call(other.apiKey, 'GET', `/admin/tenants/${(await (await call(ADMIN_KEY, 'GET', `/admin/connections/${h.connectionId}`)).json() as Json).tenantId}/privacy`)).status, 404);
      assert.equal((await call(ADMIN_KEY, 'POST', '/admin/erasure', { connectionId: h.connectionId })).status, 400);
      assert.equal((await docs()).length - before, 0);
    });

    test('when the connection has only an agent token, then the Chatwoot contact is anonymised and the answer says what is left', async () => {
      const agentToken = 'cw-agent-only-token-0123456789';
      h.chatwoot.addAccount({ id: ACCOUNT_ID, token: agentToken, role: 'agent' });
      const inbox = h.chatwoot.addInbox(ACCOUNT_ID, { name: 'Second number' });
      const number = '106540352249999';
      const created = await call(ADMIN_KEY, 'POST', '/admin/connections', {
        tenantId: (await (await call(ADMIN_KEY, 'GET', `/admin/connections/${h.connectionId}`)).json() as Json).tenantId,
        name: 'Agent-token number', channel: 'whatsapp', businessId: number, metaAccessToken: META_TOKEN,
        platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: inbox.id, apiAccessToken: agentToken },
      });
      assert.equal(created.status, 201);
      const connectionId = ((await created.json()) as Json).id;
      const C = '4915112345003';
      await messageOf(await customerWrites(C, 'hi', number));
      const res = await call(ADMIN_KEY, 'POST', '/admin/erasure', { connectionId, customerId: C, eraseContact: true });
      const report = await res.json() as Json;
      assert.equal(report.platform.outcome, 'anonymised', JSON.stringify(report));
      assert.match(report.platform.note, /administrator/);
      const contact = h.chatwoot.contacts(ACCOUNT_ID).find((c) => c.contact_inboxes.some((ci) => ci.inbox_id === inbox.id))!;
      assert.deepEqual([contact.name, contact.phone_number], ['Erased contact', null]);
      assert.deepEqual(mentioning(await docs(), [C, DeliveryRepository.customerKeyOf(connectionId, C)]).map((d) => d.collection), []);
    });

    test('when erase-user runs from the CLI, then it erases through the admin API and refuses without --yes', async () => {
      const D = '4915112345004';
      await messageOf(await customerWrites(D, 'from the CLI'));
      const env = { BRIDGE_URL: h.baseUrl, BRIDGE_ADMIN_KEY: ADMIN_KEY };
      assert.notEqual((await runCli(['erase-user', h.connectionId, D], env)).code, 0, 'needs --yes');
      const run = await runCli(['--json', 'erase-user', h.connectionId, D, '--keep-contact', '--yes'], env);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as Json;
      assert.ok(report.records.total > 0);
      assert.equal(report.platform.outcome, 'skipped');
      assert.deepEqual(mentioning(await docs(), [D, DeliveryRepository.customerKeyOf(h.connectionId, D)]).map((d) => d.collection), []);
      assert.ok(h.chatwoot.contacts(ACCOUNT_ID).some((c) => c.phone_number === `+${D}`), '--keep-contact kept the contact');
      const tenantId = (await (await call(ADMIN_KEY, 'GET', `/admin/connections/${h.connectionId}`)).json() as Json).tenantId;
      const set = await runCli(['--json', 'privacy', 'set', tenantId, '--erase-contacts', 'off'], env);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(JSON.parse(set.stdout).eraseContactsOnPlatform, false);
    });
  });

  describe("Meta's Deauthorize and Data Deletion callbacks", () => {
    const U = '10160000000000001';
    const V = '10160000000000002';
    let tenant: { id: string; apiKey: string };
    const mine: string[] = [];
    let theirs: string;

    before(async () => {
      tenant = await createTenant(h.baseUrl, 'Onboarded tenant');
      const make = async (businessId: string, grantedBy: string) => {
        const res = await call(tenant.apiKey, 'POST', '/admin/connections', {
          name: `Page ${businessId}`, channel: 'messenger', businessId, metaAccessToken: `EAAPage-token-${businessId}`,
          platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: CHATWOOT_TOKEN },
        });
        assert.equal(res.status, 201);
        const id = ((await res.json()) as Json).id as string;
        // What the onboarding flow stores: who granted the token (Facebook Login / Embedded Signup).
        await h.bridge!.connections!.update(id, { grantedByUserId: grantedBy });
        return id;
      };
      mine.push(await make('3000000001', U), await make('3000000002', U));
      theirs = await make('3000000003', V);
    });

    const tampered: Array<[string, () => string]> = [
      ['signed with another secret', () => signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: U }, 'not-the-app-secret')],
      ['with a changed payload', () => {
        const [sig] = signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: V }, APP_SECRET).split('.');
        return `${sig}.${Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: U })).toString('base64url')}`;
      }],
      ['unsigned', () => `.${Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: U })).toString('base64url')}`],
    ];

    test('when a tampered or missing signed_request arrives at either callback, then it gets 400 and nothing in MongoDB or Redis changes', async () => {
      // Queued work and every document; short-lived counters (send pacing, webhook dedupe) come and go on their own.
      const snapshot = async () => [
        ...(await docs()).map((d) => `${d.collection}: ${d.json}`),
        // Lanes and drain jobs; not Bull's own clock (stalled-check), which moves every few seconds.
        ...(await keys()).filter((k) => /:lane:|:lanes:(drain:|(wait|delayed|active|paused)$)/.test(k.key)).map((k) => `${k.key}=${k.text}`),
      ];
      const before = await snapshot();
      for (const path of ['/meta/deauthorize', '/meta/data-deletion']) {
        for (const [why, make] of tampered) assert.equal((await form(path, { signed_request: make() })).status, 400, `${path} ${why}`);
        assert.equal((await form(path, {})).status, 400, `${path} without the field`);
      }
      const after = await snapshot();
      assert.deepEqual({ added: after.filter((x) => !before.includes(x)), removed: before.filter((x) => !after.includes(x)) }, { added: [], removed: [] });
    });

    test("when the person who connected Pages removes the app (Deauthorize), then their tokens are deleted, their connections disconnected and audited, and others' untouched", async () => {
      const res = await form('/meta/deauthorize', { signed_request: signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: U }, APP_SECRET) });
      assert.equal(res.status, 200);
      const stored = await docs();
      for (const id of mine) {
        const doc = stored.find((d) => d.collection === 'connections' && d.doc._id === id)!.doc;
        assert.equal(doc.health, 'disconnected');
        assert.equal(doc.metaToken, undefined, 'the token is deleted');
        assert.equal(doc.grantedByUserId, U, 'kept until a deletion request');
      }
      const other = stored.find((d) => d.collection === 'connections' && d.doc._id === theirs)!.doc;
      assert.ok(other.metaToken?.ct, "another person's token stays");
      const listed = await (await call(tenant.apiKey, 'GET', '/admin/connections')).json() as Json;
      assert.deepEqual(listed.connections.filter((c: Json) => mine.includes(c.id)).map((c: Json) => c.health), ['disconnected', 'disconnected']);
      const audit = await (await call(tenant.apiKey, 'GET', '/admin/audit?action=meta.deauthorize')).json() as Json;
      assert.deepEqual(audit.events.map((e: Json) => e.target.id).sort(), [...mine].sort());
      assert.ok(audit.events.every((e: Json) => e.actor === 'meta' && !JSON.stringify(e).includes(U)));
    });

    test('when that person asks Meta to delete their data, then the answer is a status URL and code, the page names no one, and nothing about them remains', async () => {
      const mentionsU = async () => [...mentioning(await docs(), [U]).map((d) => d.collection), ...mentioning(await keys(), [U]).map((k) => k.key)];
      assert.ok((await mentionsU()).length >= 2, 'the connections kept who granted them');
      const res = await form('/meta/data-deletion', { signed_request: signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: U }, APP_SECRET) });
      assert.equal(res.status, 200);
      const body = await res.json() as Json;
      assert.match(body.confirmation_code, /^[A-Z0-9]{16}$/);
      assert.equal(body.url, `${h.env.PUBLIC_URL ?? 'http://localhost:3000'}/meta/data-deletion/${body.confirmation_code}`);
      assert.deepEqual(await mentionsU(), []);

      const page = await fetch(`${h.baseUrl}/meta/data-deletion/${body.confirmation_code}`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, new RegExp(body.confirmation_code));
      assert.match(html, /Completed/);
      assert.ok(!html.includes(U));
      const status = await (await fetch(`${h.baseUrl}/meta/data-deletion/${body.confirmation_code}`, { headers: { accept: 'application/json' } })).json() as Json;
      assert.equal(status.status, 'completed');
      assert.equal(status.deleted.grantsForgotten, 2);
      assert.equal((await fetch(`${h.baseUrl}/meta/data-deletion/ZZZZZZZZZZZZZZZZ`)).status, 404);
      const audit = await (await call(ADMIN_KEY, 'GET', '/admin/audit?action=meta.data_deletion')).json() as Json;
      assert.ok(audit.events.some((e: Json) => e.target?.id === body.confirmation_code && e.tenantId === null));
    });

    test('when an old-style Page uninstall names a Page (profile_id), then that Page is disconnected', async () => {
      const res = await form('/meta/deauthorize', { signed_request: signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: 0, profile_id: '3000000003' }, APP_SECRET) });
      assert.equal(res.status, 200);
      const listed = await (await call(tenant.apiKey, 'GET', `/admin/connections/${theirs}`)).json() as Json;
      assert.equal(listed.health, 'disconnected');
    });
  });

  describe('deleting a connection or a tenant', () => {
    test('when a connection and then its tenant are deleted, then no document and no queue entry of either is left', async () => {
      const t = await createTenant(h.baseUrl, 'Tenant to delete');
      const numbers = ['106540352240001', '106540352240002'];
      const ids: string[] = [];
      for (const businessId of numbers) {
        const inbox = h.chatwoot.addInbox(ACCOUNT_ID, { name: `Inbox ${businessId}` });
        const res = await call(t.apiKey, 'POST', '/admin/connections', {
          name: businessId, channel: 'whatsapp', businessId, metaAccessToken: META_TOKEN,
          platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: inbox.id, apiAccessToken: CHATWOOT_TOKEN },
        });
        ids.push(((await res.json()) as Json).id);
        await messageOf(await customerWrites('4915112346001', 'forwarded', businessId));
      }
      // A second customer's message stays queued on each connection: the platform answers 500 for that contact's
      // creation until the checks below are done (no reset in between, or a retry could deliver it meanwhile).
      h.chatwoot.failNext(/\/contacts$/, 100_000, { status: 500 });
      for (const businessId of numbers) {
        const waiting = await customerWrites('4915112346002', 'queued', businessId);
        await eventually(async () => assert.ok((await queued()).some((p) => p.direction === 'inbound' && p.event.externalId === waiting)));
      }
      assert.equal((await call(t.apiKey, 'PUT', `/admin/tenants/${t.id}/privacy`, { eraseContactsOnPlatform: true })).status, 200);
      const traces = async (values: string[]) => ({
        docs: mentioning(await docs(), values).map((d) => `${d.collection}: ${d.json.slice(0, 160)}`),
        keys: mentioning(await keys(), values).map((k) => k.key),
        queued: (await queued()).filter((p) => values.includes(p.connectionId)).length,
      });
      const [first, second] = ids as [string, string];
      const before = await traces([first]);
      assert.ok(before.docs.length > 3 && before.keys.length > 0 && before.queued > 0, JSON.stringify(before));

      assert.equal((await call(t.apiKey, 'DELETE', `/admin/connections/${first}`)).status, 200);
      const afterDelete = await traces([first]);
      // While the tenant exists it keeps its audit trail (that the connection was created and deleted); nothing else.
      assert.deepEqual({ ...afterDelete, docs: afterDelete.docs.filter((d) => !d.startsWith('audit_events: ')) }, { docs: [], keys: [], queued: 0 });
      assert.deepEqual(afterDelete.docs.map((d) => /"action":"([a-z_.]+)"/.exec(d)?.[1]).sort(), ['connection.create', 'connection.delete']);
      assert.ok((await traces([second])).queued > 0, 'the other connection keeps its work');
      h.chatwoot.reset();

      assert.equal((await call(ADMIN_KEY, 'DELETE', `/admin/tenants/${t.id}`)).status, 200);
      const left = await traces([t.id, ...ids]);
      // One trace stays on purpose: the bridge-wide record that the tenant was deleted (super-admin only, counts).
      assert.deepEqual(left.keys, []);
      assert.equal(left.queued, 0);
      assert.equal(left.docs.length, 1, left.docs.join('\n'));
      assert.match(left.docs[0]!, /^audit_events: .*"tenantId":null.*"action":"tenant.delete"/);
    });
  });

  describe('retention', () => {
    test('every expiring collection has its TTL index where the server supports TTL, and the sweeper removes expired documents everywhere', async () => {
      const { mongoBackend } = requireServices();
      const report = h.bridge!.indexReport!.ttl;
      const expiring = Object.keys(report);
      for (const c of ['inbound_keys', 'delivery_records', 'platform_messages', 'dead_letters', 'conversation_state', 'held_statuses', 'profile_fetches', 'audit_events', 'deletion_requests', 'contact_links', 'conversation_recipients']) {
        assert.ok(expiring.includes(c), `${c} does not expire`);
      }
      const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
      try {
        // Does this server take TTL indexes at all? Asked directly, on a scratch collection.
        const supportsTtl = await db.db!.collection('ttl_probe').createIndex({ at: 1 }, { expireAfterSeconds: 0 }).then(() => true, (err: { code?: number }) => {
          assert.equal(err.code, 238, 'refused as NotImplemented');
          return false;
        });
        if (mongoBackend === 'ferretdb') assert.equal(supportsTtl, false, 'FerretDB 1.x has no TTL indexes');
        for (const name of expiring) {
          const indexes = await db.db!.collection(name).indexes();
          if (supportsTtl) {
            assert.equal(report[name], 'ttl-index', name);
            const ttl = indexes.find((i) => i.name === 'expiresAt_ttl');
            assert.ok(ttl, `${name} lacks its TTL index`);
            if ('expireAfterSeconds' in ttl) assert.equal(ttl.expireAfterSeconds, 0);
          } else {
            assert.equal(report[name], 'sweeper-only', name);
            assert.ok(indexes.some((i) => i.name === 'expiresAt_1'), `${name} lacks the index the sweeper uses`);
          }
        }
        const tag = `expiry-probe-${Date.now()}`;
        for (const name of expiring) {
          await db.db!.collection(name).insertMany([
            { _id: `${tag}-old` as never, probe: tag, expiresAt: new Date(Date.now() - 60_000) },
            { _id: `${tag}-new` as never, probe: tag, expiresAt: new Date(Date.now() + 3_600_000) },
          ]);
        }
        // The harness sweeps every 500 ms: only the expired probes go.
        await eventually(async () => {
          for (const name of expiring) {
            const left = (await db.db!.collection(name).find({ probe: tag }).toArray()).map((d) => String(d._id));
            assert.deepEqual(left, [`${tag}-new`], name);
          }
        }, 10_000, 200);
        for (const name of expiring) await db.db!.collection(name).deleteMany({ probe: tag });
      } finally {
        await db.db!.collection('ttl_probe').drop().catch(() => undefined);
        await db.close();
      }
    });

    test('records take their expiry from the retention settings', async () => {
      const stored = await docs();
      const days = (d: Json, from: Date) => Math.round((new Date(d.expiresAt).getTime() - from.getTime()) / 86_400_000);
      const record = stored.find((d) => d.collection === 'delivery_records')!.doc;
      assert.equal(days(record, new Date(record.createdAt)), 7);
      const deletion = stored.find((d) => d.collection === 'deletion_requests')!.doc;
      assert.equal(days(deletion, new Date(deletion.receivedAt)), 90);
      const audit = stored.find((d) => d.collection === 'audit_events')!.doc;
      assert.equal(days(audit, new Date(audit.at)), 365);
      // Customer mappings: RETENTION_CUSTOMER_MAPPING_DAYS from their last use (here: when they were written).
      const link = stored.find((d) => d.collection === 'contact_links')!.doc;
      assert.equal(days(link, new Date(link.updatedAt)), 90);
    });
  });
});

describe('erasing an end user of a generic platform', () => {
  let g: GenericHarness;
  before(async () => { g = await startGenericHarness(); });
  after(async () => g?.stop());

  test('when the platform contact is to be erased too, then the platform gets one signed contact.erase event as the contract documents it, and the bridge keeps nothing', async () => {
    const from = '4915112347001';
    const id = wamid();
    await g.postWebhook(delivery([[change([textMessage({ from, id, body: 'hello', timestamp: now() })])]]));
    const message = await eventually(() => { const e = g.platform.eventsOf('message')[0]; assert.ok(e); return e; });
    // An agent reply addressed only by conversation: the bridge keeps whom it goes to (encrypted) for that.
    await eventually(async () => assert.ok(mentioning(await allDocuments(g.env.MONGODB_URI!), [id]).length >= 2));
    const res = await fetch(`${g.baseUrl}/admin/erasure`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connectionId: g.connectionId, customerId: `+${from}`, eraseContact: true }),
    });
    const report = await res.json() as Json;
    assert.equal(report.platform.outcome, 'requested', JSON.stringify(report));
    const [erase, ...more] = g.platform.eventsOf('contact.erase');
    assert.ok(erase);
    assert.equal(more.length, 0);
    assert.deepEqual(contractSchemas().check(eventSchemaNames()['contact.erase']!, erase), []);
    assert.equal(erase.conversation_id, message.conversation_id);
    assert.deepEqual(erase.data.customer_ids, [from]);
    assert.ok(g.platform.attempts.filter((a) => a.event === 'contact.erase').every((a) => a.verdict === 'ok'), 'signed like every event');
    const left = mentioning(await allDocuments(g.env.MONGODB_URI!), [from, id, message.conversation_id, DeliveryRepository.customerKeyOf(g.connectionId, from)]);
    assert.deepEqual(left.map((d) => d.collection), []);
    assert.equal((await allDocuments(g.env.MONGODB_URI!)).filter((d) => d.collection === 'conversation_recipients').length, 0, 'whom replies go to is forgotten');
  });
});
