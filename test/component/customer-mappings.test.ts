/**
 * Customer mappings expire after inactivity (issue 9, retention), on the real MongoDB-wire server: contact links
 * (store/contact-links.ts) and generic platforms' conversation recipients (store/conversation-recipients.ts) are
 * forgotten RETENTION_CUSTOMER_MAPPING_DAYS after the last message that used them; a use pushes the expiry forward
 * at most once a day per entry (counted in the server's update commands, across two processes); mappings from before
 * expiry get one; every filter of a message's work names `_id` alone (FerretDB scans the collection for any other);
 * and a forgotten mapping is harmless: the Chatwoot adapter finds the same contact again, and a generic platform's
 * reply by conversation id is refused with a reason until the customer writes again.
 * Time is a clock given to the repositories; the sweeper is the one the bridge runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { requireServices, uniqueDbName } from '../support/env';
import { withDb } from '../support/harness';
import { startFakeChatwoot, type FakeChatwoot } from '../fakes/chatwoot';
import { ContactLinkRepository } from '../../src/store/contact-links';
import { ConversationRecipientRepository } from '../../src/store/conversation-recipients';
import { ExpirySweeper } from '../../src/store/sweeper';
import { createLogger } from '../../src/log/logger';
import { KeyRing } from '../../src/crypto/keyring';
import { ChatwootPlatform } from '../../src/platforms/chatwoot';
import { GenericPlatform } from '../../src/platforms/generic';
import type { GenericPlatformClient } from '../../src/platforms/generic/client';
import type { BridgeEvent } from '../../src/platforms/generic/events';
import type { MediaLinks } from '../../src/platforms/generic/media-links';
import type { InboundDelivery } from '../../src/platforms/platform';
import type { ConnectionRecord } from '../../src/store/connections';
import type { CustomerRef } from '../../src/core/events';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const RETENTION_MS = 90 * DAY_MS;
const log = createLogger({ level: 'error', stream: new PassThrough() });
/** Every process of one bridge has the same keys. */
const keys = KeyRing.fromList([randomBytes(32).toString('base64url') + '=']);

interface Command { name: string; collection: string; filters: Array<Record<string, unknown>>; projection?: unknown }

/** One "process": its own connection (and so its own repositories and caches), its commands recorded. */
async function processOn(uri: string, commands: Command[], clock: () => number) {
  const db = await mongoose.createConnection(uri, { monitorCommands: true }).asPromise();
  db.getClient().on('commandStarted', (e) => {
    const c = e.command as Record<string, any>;
    const collection = String(c[e.commandName] ?? '');
    if (e.commandName === 'update') commands.push({ name: 'update', collection, filters: (c.updates as Array<{ q: Record<string, unknown> }>).map((u) => u.q) });
    if (e.commandName === 'find') commands.push({ name: 'find', collection, filters: [c.filter as Record<string, unknown>], projection: c.projection });
    if (e.commandName === 'delete') commands.push({ name: 'delete', collection, filters: (c.deletes as Array<{ q: Record<string, unknown> }>).map((d) => d.q) });
  });
  const links = new ContactLinkRepository(db, RETENTION_MS, clock);
  const recipients = new ConversationRecipientRepository(db, keys, RETENTION_MS, clock);
  await Promise.all([links.model.init(), recipients.model.init()]);
  const sweeper = new ExpirySweeper([{ model: links.model, field: 'expiresAt' }, { model: recipients.model, field: 'expiresAt' }], log);
  return { db, links, recipients, sweeper };
}

describe('customer mappings expire after inactivity', () => {
  const uri = withDb(requireServices().mongoUri, uniqueDbName('mappings'));
  const commands: Command[] = [];
  let t = Date.now();
  const clock = () => t;
  let a: Awaited<ReturnType<typeof processOn>>;
  let b: Awaited<ReturnType<typeof processOn>>;
  /** The test's own look at the data, not counted among the processes' commands. */
  let inspect: mongoose.Connection;
  const stored = (collection: string, filter: Record<string, unknown> = {}) => inspect.db!.collection(collection).find(filter).toArray();
  const link = (n: number) => ({ platformContactId: String(n), platformConversationId: String(100 + n) });
  const updatesOf = (collection: string, from = 0) => commands.slice(from).filter((c) => c.name === 'update' && c.collection === collection).length;

  before(async () => {
    a = await processOn(uri, commands, clock);
    b = await processOn(uri, commands, clock);
    inspect = await mongoose.createConnection(uri).asPromise();
  });

  after(async () => {
    await inspect?.dropDatabase().catch(() => undefined);
    await Promise.all([a?.db.close(), b?.db.close(), inspect?.close()]);
  });

  test('when a mapping was last used longer ago than the retention, then the sweeper removes it; one used recently stays', async () => {
    const t0 = t;
    await a.links.set('c1', ['old'], link(1));
    await a.links.set('c1', ['recent'], link(2));
    await a.recipients.remember('c1', 'cnv_old', { id: 'old', phone: '491700000001' });
    await a.recipients.remember('c1', 'cnv_written', { id: 'written', phone: '491700000002' });
    await a.recipients.remember('c1', 'cnv_replied', { id: 'replied', phone: '491700000003' });

    t = t0 + 60 * DAY_MS; // the customer writes again; an agent replies in another conversation
    assert.deepEqual(await a.links.get('c1', 'recent'), link(2));
    await a.recipients.keep('c1', 'cnv_written', { id: 'written', phone: '491700000002' });
    assert.deepEqual(await a.recipients.recipientOf('c1', 'cnv_replied'), { id: 'replied', phone: '491700000003' });

    t = t0 + RETENTION_MS + HOUR_MS;
    // Expired but not swept yet: already gone for the process that cached it and for one that did not.
    assert.equal(await a.links.get('c1', 'old'), null);
    assert.equal(await b.links.get('c1', 'old'), null);
    assert.equal(await b.recipients.recipientOf('c1', 'cnv_old'), null);

    assert.equal(await a.sweeper.sweepOnce(new Date(t)), 2);
    const left = async (collection: string) => (await stored(collection, { connectionId: 'c1' })).map((d) => String(d._id)).sort();
    assert.deepEqual(await left('contact_links'), [ContactLinkRepository.keyOf('c1', 'recent')]);
    assert.deepEqual(await left('conversation_recipients'), ['cnv_written', 'cnv_replied'].map((c) => ConversationRecipientRepository.keyOf('c1', c)).sort());
    assert.deepEqual(await b.links.get('c1', 'recent'), link(2));
    assert.equal(await a.links.get('c1', 'old'), null);

    t += RETENTION_MS + HOUR_MS; // and nobody wrote since
    assert.equal(await a.sweeper.sweepOnce(new Date(t)), 3);
    assert.deepEqual([...await left('contact_links'), ...await left('conversation_recipients')], []);
  });

  test('when a mapping is used every hour for three days, from two processes, then its expiry is written at most once a day', async () => {
    const t0 = t;
    await a.links.set('c2', ['warm'], link(3));
    await a.recipients.remember('c2', 'cnv_warm', { id: 'warm', phone: '491700000004' });
    await a.recipients.remember('c2', 'cnv_agent', { id: 'agent', phone: '491700000005' });
    const from = commands.length;
    let coldCalls = -1;
    for (let h = 1; h <= 72; h += 1) {
      t = t0 + h * HOUR_MS;
      for (const p of h % 2 === 0 ? [a, b] : [b, a]) {
        assert.deepEqual(await p.links.get('c2', 'warm'), link(3));
        await p.recipients.keep('c2', 'cnv_warm', { id: 'warm', phone: '491700000004' });
        assert.deepEqual(await p.recipients.recipientOf('c2', 'cnv_agent'), { id: 'agent', phone: '491700000005' });
      }
      if (h === 2) coldCalls = commands.length;
      // Within the first day, a warm customer costs the process that wrote and the one that read nothing more.
      if (h === 23) {
        // (A reply by conversation id reads its recipient every time: it is not kept decrypted in memory.)
        const warm = commands.slice(coldCalls).filter((c) => !(c.collection === 'conversation_recipients' && c.name === 'find' && !c.projection));
        assert.deepEqual(warm, [], 'no database call for a warm link, or for the recipient of a customer writing, within the day');
      }
    }
    // Pushed at hour 25 and at hour 50 (each a day after the last push); never more, whichever process used it.
    assert.equal(updatesOf('contact_links', from), 2);
    assert.equal(updatesOf('conversation_recipients', from), 4);
    const [warmLink] = await stored('contact_links', { _id: ContactLinkRepository.keyOf('c2', 'warm') });
    assert.equal((warmLink!.expiresAt as Date).getTime(), t0 + 50 * HOUR_MS + RETENTION_MS);
  });

  test('when mappings predate expiry, then they are not swept at once: the start-up backfill gives them a full retention, and so does a first use', async () => {
    const legacy = (customer: string) => ({
      _id: ContactLinkRepository.keyOf('c3', customer) as never, connectionId: 'c3', platformContactId: '7', platformConversationId: '107', updatedAt: new Date(t - 400 * DAY_MS),
    });
    await inspect.db!.collection('contact_links').insertMany([legacy('used'), legacy('idle')]);
    const left = async () => (await stored('contact_links', { connectionId: 'c3' })).length;
    await a.sweeper.sweepOnce(new Date(t + 10 * RETENTION_MS));
    assert.equal(await left(), 2, 'without an expiry, nothing is swept');

    assert.deepEqual(await b.links.get('c3', 'used'), { platformContactId: '7', platformConversationId: '107' });
    const expiryOf = async (customer: string) => ((await stored('contact_links', { _id: ContactLinkRepository.keyOf('c3', customer) }))[0]?.expiresAt as Date | undefined)?.getTime();
    assert.equal(await expiryOf('used'), t + RETENTION_MS, 'the first use gives it one');
    assert.equal(await expiryOf('idle'), undefined);

    const usedAt = t;
    t += HOUR_MS;
    assert.equal(await a.links.backfillExpiry(), 1);
    assert.equal(await expiryOf('idle'), t + RETENTION_MS, 'the backfill: a full retention from now');
    assert.equal(await expiryOf('used'), usedAt + RETENTION_MS, 'a mapping that has its expiry keeps it');
    assert.equal(await a.links.backfillExpiry(), 0, 'harmless to repeat');
    assert.equal(await a.recipients.backfillExpiry(), 0);
    await a.sweeper.sweepOnce(new Date(usedAt + RETENTION_MS - 1));
    assert.equal(await left(), 2);
    await a.sweeper.sweepOnce(new Date(t + RETENTION_MS + 1));
    assert.equal(await left(), 0, 'and they do expire');
  });

  test("when a message's mappings are read and written, then every filter names _id alone", () => {
    const ofMappings = commands.filter((c) => ['contact_links', 'conversation_recipients'].includes(c.collection) && c.name !== 'delete');
    assert.ok(ofMappings.length > 20);
    for (const c of ofMappings) {
      for (const q of c.filters) {
        if ('expiresAt' in q) continue; // the start-up backfill (once per start)
        assert.deepEqual(Object.keys(q), ['_id'], `${c.name} ${c.collection} ${JSON.stringify(q)}`);
      }
    }
  });
});

describe('a forgotten mapping is harmless', () => {
  const uri = withDb(requireServices().mongoUri, uniqueDbName('mappings-use'));
  let t = Date.now();
  const clock = () => t;
  let p: Awaited<ReturnType<typeof processOn>>;
  let chatwoot: FakeChatwoot;
  const linksOf = (connectionId: string) => p.db.db!.collection('contact_links').countDocuments({ connectionId });

  before(async () => {
    p = await processOn(uri, [], clock);
    chatwoot = await startFakeChatwoot();
    chatwoot.addAccount({ id: 1, token: 'cw-token' });
  });

  after(async () => {
    await chatwoot?.close();
    await p?.db.dropDatabase().catch(() => undefined);
    await p?.db.close();
  });

  const customer: CustomerRef = { id: '4915112348001', phone: '4915112348001', name: 'Returning customer' };
  let seq = 0;
  const message = (text: string): InboundDelivery => ({
    event: {
      kind: 'message', channel: 'whatsapp', businessId: '106540352242922', externalId: `wamid.mapping-${++seq}`, timestamp: t,
      customer, text, attachments: [], originalType: 'text', attributes: {},
    },
    files: [], notes: [], mayAlreadyExist: false,
  });

  test("when a returning customer's link expired, then their message reaches the same Chatwoot contact, found again on Chatwoot, without a duplicate", async () => {
    const inbox = chatwoot.addInbox(1, { name: 'WhatsApp', secret: null });
    const conn = { id: 'con_cw', channel: 'whatsapp', platform: { kind: 'chatwoot', baseUrl: chatwoot.url, accountId: 1, inboxId: inbox.id, apiToken: 'cw-token' } } as ConnectionRecord<'chatwoot'>;
    const platform = new ChatwootPlatform(p.links, 5_000);
    const t0 = t;
    const first = await platform.deliverInbound(conn, message('hello'));
    t = t0 + DAY_MS / 2;
    const before = chatwoot.requests.length;
    const warm = await platform.deliverInbound(conn, message('again'));
    assert.deepEqual(chatwoot.requests.slice(before).map((r) => `${r.method} ${r.path}`), [`POST /api/v1/accounts/1/conversations/${first.conversationId}/messages`], 'a warm customer: one Chatwoot call');
    assert.equal(warm.conversationId, first.conversationId);

    t = t0 + DAY_MS / 2 + RETENTION_MS + HOUR_MS;
    assert.ok(await p.sweeper.sweepOnce(new Date(t)) >= 1);
    assert.equal(await linksOf('con_cw'), 0, 'the link expired');
    const lookupsFrom = chatwoot.requests.length;
    const back = await platform.deliverInbound(conn, message('I am back'));
    assert.ok(chatwoot.requests.slice(lookupsFrom).some((r) => r.path.endsWith('/contact_inboxes/filter')), 'looked up on Chatwoot again');
    assert.equal(chatwoot.contacts(1).length, 1, 'no duplicate contact');
    assert.equal(back.conversationId, first.conversationId, 'the conversation was still open: the same one');
    assert.deepEqual(chatwoot.messages(1).map((m) => m.content), ['hello', 'again', 'I am back']);
    assert.equal(await linksOf('con_cw'), 1, 'linked anew');
  });

  test('when a generic conversation was forgotten, then a reply to it is refused with the reason, and the next customer message restores it under the same id', async () => {
    const sent: BridgeEvent[] = [];
    const client = { send: async (_conn: unknown, event: BridgeEvent) => { sent.push(event); } } as unknown as GenericPlatformClient;
    const platform = new GenericPlatform({ client, links: p.links, recipients: p.recipients, mediaLinks: {} as MediaLinks, now: clock });
    const conn = { id: 'con_gen', channel: 'whatsapp', platform: { kind: 'generic', url: 'http://127.0.0.1:9/events', signingSecret: 'whsec_x', apiKeyHash: 'x' } } as ConnectionRecord<'generic'>;
    const reply = (n: number, conversationId: string) => platform.parseRequest(conn, { message_id: `dsk-${n}`, conversation_id: conversationId, text: 'an answer' });
    const t0 = t;
    const { conversationId } = await platform.deliverInbound(conn, message('hello'));
    assert.ok('command' in await reply(1, conversationId));

    t = t0 + RETENTION_MS + HOUR_MS;
    const refused = await reply(2, conversationId);
    assert.ok('invalid' in refused, 'expired, even before the sweeper ran');
    assert.match(refused.invalid.join(' '), /not a conversation of this connection, or its customer has not written for RETENTION_CUSTOMER_MAPPING_DAYS/);
    await p.sweeper.sweepOnce(new Date(t));
    assert.ok('invalid' in await reply(3, conversationId));

    const contactEvents = () => sent.filter((e) => e.type === 'contact').length;
    assert.equal(contactEvents(), 1);
    const again = await platform.deliverInbound(conn, message('back again'));
    assert.equal(again.conversationId, conversationId);
    assert.equal(contactEvents(), 2, 'the platform is told who the customer is again');
    const accepted = await reply(4, conversationId);
    assert.ok('command' in accepted && accepted.command.kind === 'reply' && accepted.command.recipient.id === customer.id);
  });
});
