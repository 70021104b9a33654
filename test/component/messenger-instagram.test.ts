/**
 * Messenger and Instagram, end to end, through the same pipeline as WhatsApp: the real bridge, real Redis and
 * MongoDB-wire server, the Graph fake (Send API on graph.facebook.com and graph.instagram.com, profiles, CDN) and
 * the Chatwoot fake over real HTTP. Four connections: a Messenger Page with the HUMAN_AGENT tag enabled, a second
 * Page without it, an Instagram account reached with its Page token, and one with an Instagram-Login token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, eventually, startHarness, testTenant, type Harness } from '../support/harness';
import {
  asDelivery, createMessagingConnection, customerText, echoText, fill, messagingDelivery, messagingFixtureNames, newMid, newScopedId, objectOf, readFixture,
  type Json,
} from '../support/meta-messaging';
import type { MessageRecord } from '../fakes/chatwoot';

const PAGE = '1063015210542';
const PAGE_TOKEN = 'EAAPage-token-for-the-test-page-0123456789';
const PAGE2 = '1063015210999';
const PAGE2_TOKEN = 'EAAPage-token-for-the-second-page-0123456789';
const IG_VIA_PAGE = '17841400000000001';
const IG_LOGIN = '17841400000000002';
const IG_LOGIN_TOKEN = 'IGAA-instagram-login-token-0123456789abcdef';
const HOUR = 3600_000;

interface Account {
  channel: 'messenger' | 'instagram';
  object: 'page' | 'instagram';
  businessId: string;
  inboxId: number;
  connectionId: string;
}

describe('Messenger and Instagram through the bridge', () => {
  let h: Harness;
  const accounts: Record<'messenger' | 'messengerNoTag' | 'instagram' | 'instagramLogin', Account> = {} as never;

  before(async () => {
    h = await startHarness();
    h.graph.addPageToken(PAGE_TOKEN, { pageId: PAGE, instagramId: IG_VIA_PAGE });
    h.graph.addPageToken(PAGE2_TOKEN, { pageId: PAGE2 });
    h.graph.addInstagramLoginToken(IG_LOGIN_TOKEN, { instagramId: IG_LOGIN });
    const setup: Array<[keyof typeof accounts, Omit<Account, 'inboxId' | 'connectionId' | 'object'>, string, Record<string, unknown>]> = [
      ['messenger', { channel: 'messenger', businessId: PAGE }, PAGE_TOKEN, { humanAgentTag: true }],
      ['messengerNoTag', { channel: 'messenger', businessId: PAGE2 }, PAGE2_TOKEN, {}],
      ['instagram', { channel: 'instagram', businessId: IG_VIA_PAGE }, PAGE_TOKEN, { tokenKind: 'page' }],
      ['instagramLogin', { channel: 'instagram', businessId: IG_LOGIN }, IG_LOGIN_TOKEN, { tokenKind: 'instagram_login', humanAgentTag: true }],
    ];
    for (const [key, a, token, options] of setup) {
      const inbox = h.chatwoot.addInbox(ACCOUNT_ID, { name: key });
      const connectionId = await createMessagingConnection(h.baseUrl, h.chatwoot.url, inbox.id, {
        channel: a.channel, businessId: a.businessId, token, options, webhookSecret: inbox.secret ?? undefined,
      });
      h.chatwoot.updateInbox(ACCOUNT_ID, inbox.id, { webhookUrl: `${h.baseUrl}/webhooks/chatwoot/${connectionId}` });
      accounts[key] = { ...a, object: a.channel === 'messenger' ? 'page' : 'instagram', inboxId: inbox.id, connectionId };
    }
  });
  after(async () => { await h?.stop(); });

  const messages = (): MessageRecord[] => h.chatwoot.messages(ACCOUNT_ID);
  const bySource = (sourceId: string): MessageRecord[] => messages().filter((m) => m.source_id === sourceId);
  const byId = (id: number): MessageRecord => messages().find((m) => m.id === id)!;
  const onlyBySource = (sourceId: string): Promise<MessageRecord> => eventually(() => {
    const found = bySource(sourceId);
    assert.equal(found.length, 1, `expected the message ${sourceId} once, found ${found.length}`);
    return found[0]!;
  });
  const metric = async (pattern: RegExp): Promise<number> => Number(pattern.exec(await h.bridge!.metrics.registry.metrics())?.[1] ?? 0);

  /** A customer of the account writes (at `at`); the Graph fake knows them (profile, window). */
  async function customerWrites(a: Account, text: string, opts: { customerId?: string; at?: number; profile?: Record<string, string> } = {}) {
    const customerId = opts.customerId ?? newScopedId();
    const at = opts.at ?? Date.now();
    h.graph.addMessagingUser({ businessId: a.businessId, id: customerId, lastMessageAt: at, profile: opts.profile ?? { first_name: 'Test', last_name: `Customer ${customerId.slice(-4)}` } });
    const mid = newMid();
    assert.equal((await h.postWebhook(messagingDelivery(a.object, a.businessId, [customerText(a.businessId, customerId, text, { mid, timestamp: at })]))).status, 200);
    const msg = await onlyBySource(mid);
    return { customerId, mid, conversationId: msg.conversation_id, messageId: msg.id };
  }

  /** An agent replies in Chatwoot; resolves with the Send API request it became. */
  async function agentReplies(conversationId: number, content: string, extra: Parameters<Harness['chatwoot']['createAgentReply']>[2] = {}, shown = content) {
    const before = h.graph.sendApi.length;
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, conversationId, { content, ...extra });
    const sent = await eventually(() => {
      const s = h.graph.sendApi.slice(before).filter((m) => m.text === shown);
      assert.ok(s.length >= 1, 'the reply reached the Send API');
      return s[0]!;
    }, 15_000);
    return { reply, sent };
  }

  describe('every documented payload arrives in Chatwoot', () => {
    /** Fills a fixture: ids of this test, fresh mids, times of now. `targets` maps a fixture mid to one of ours. */
    function prepare(name: string, a: Account, customerId: string, targets: Record<string, string> = {}): Json {
      const body = asDelivery(readFixture(name), a.object);
      const values: Record<string, string | number> = {
        '<PSID>': customerId, '<PAGE_ID>': a.businessId, '<INSTAGRAM_SCOPED_ID>': customerId, '<YOUR_APP_USERS_INSTAGRAM_USER_ID>': a.businessId,
        'Sender-id-1': customerId, 'chatwoot-app-user-id-1': a.businessId, '<TEXT>': 'I meant Tuesday', '<INT>': 1,
        '<IMAGE_URL>': h.graph.addCdnFile({ bytes: Buffer.from(`image for ${name}`), mimeType: 'image/jpeg' }),
        '<STICKER_URL>': h.graph.addCdnFile({ bytes: Buffer.from(`sticker for ${name}`), mimeType: 'image/png' }),
        'https://www.example.com/test.jpeg': h.graph.addCdnFile({ bytes: Buffer.from(`story for ${name}`), mimeType: 'image/jpeg' }),
      };
      const now = Date.now();
      const walk = (v: unknown, key?: string): void => {
        if (!v || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'mid' || (key === 'mids')) && typeof x === 'string' && !(x in values)) values[x] = targets[x] ?? newMid();
          walk(x, k);
        }
      };
      walk(body);
      for (const [from, to] of Object.entries(targets)) values[from] = to;
      const filled = fill(body, values, a.businessId);
      for (const entry of filled.entry) {
        entry.time = now;
        for (const item of entry.messaging ?? []) {
          item.timestamp = now;
          if (item.delivery) item.delivery.watermark = now + 1000;
          if (item.read?.watermark) item.read.watermark = now + 1000;
        }
      }
      return filled;
    }
    const midOf = (body: Json): string => body.entry[0].messaging[0].message.mid;

    test('when each Messenger payload is delivered, then each arrives as it should: text, referral, image, sticker, postback, reply, reaction, edit, echoes, receipts', async () => {
      const a = accounts.messenger;
      const photo = `https://cdn.example/${newMid()}.jpg`;
      const first = await customerWrites(a, 'hello, I have a question', { profile: { first_name: 'Ana', last_name: 'Silva', profile_pic: photo } });
      const c = first.customerId;
      const contact = h.chatwoot.contacts(ACCOUNT_ID).find((x) => x.contact_inboxes.some((ci) => ci.source_id === c))!;
      assert.deepEqual([contact.name, contact.avatar_url], ['Ana Silva', photo], 'the contact has the profile name and picture');
      const post = async (body: Json) => assert.equal((await h.postWebhook(body)).status, 200);
      const checked = new Set<string>();
      const check = async (name: string, body: Json, expect: (m: MessageRecord) => void, sourceId = midOf(body)) => {
        await post(body);
        expect(await onlyBySource(sourceId));
        checked.add(name);
      };

      await check('messenger-webhook-text.json', prepare('messenger-webhook-text.json', a, c), (m) => {
        assert.deepEqual([m.message_type, m.content], [0, 'hello, world!']);
        assert.equal(m.content_attributes.quickReplyPayload, '<DEVELOPER_DEFINED_PAYLOAD>');
      });
      await check('messenger-webhook-ads-referral.json', prepare('messenger-webhook-ads-referral.json', a, c), (m) => {
        assert.equal(m.content, 'hello, world!');
        assert.deepEqual([(m.content_attributes.referral as Json).source, (m.content_attributes.referral as Json).adId], ['ADS', '<ID_OF_THE_AD>']);
      });
      await check('messenger-webhook-attachment-image.json', prepare('messenger-webhook-attachment-image.json', a, c), (m) => {
        assert.equal(m.attachments.length, 1);
        assert.equal(m.attachments[0]!.file_type, 'image');
        assert.equal(m.attachments[0]!.sha256, createHash('sha256').update('image for messenger-webhook-attachment-image.json').digest('hex'), 'the bytes from the CDN');
      });
      const sticker = prepare('messenger-webhook-sticker-entry.json', a, c);
      await check('messenger-webhook-sticker-entry.json', sticker, (m) => {
        assert.equal(m.content, '👍');
        assert.equal(m.attachments[0]!.content_type, 'image/png');
      });
      const postback = prepare('messenger-webhook-postback.json', a, c);
      await post(postback);
      const pb = await eventually(() => {
        const found = messages().filter((m) => m.content === '<BUTTON_TITLE>');
        assert.equal(found.length, 1);
        return found[0]!;
      });
      assert.equal((pb.content_attributes.postback as Json).payload, '<DEVELOPER_DEFINED_PAYLOAD>');
      checked.add('messenger-webhook-postback.json');

      // Quoting, reacting to and editing the customer's first message.
      await check('messenger-webhook-reply-to.json', prepare('messenger-webhook-reply-to.json', a, c, { 'm_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU': first.mid }), (m) => {
        assert.equal(m.content_attributes.in_reply_to, first.messageId, 'threaded to the quoted message');
      });
      const reaction = prepare('messenger-webhook-reaction.jsonc', a, c, { '<MID_OF_ReactedTo_Message>': first.mid });
      await post(reaction);
      const r = await eventually(() => {
        const found = messages().filter((m) => m.content_attributes.is_reaction === true && m.content_attributes.in_reply_to === first.messageId);
        assert.equal(found.length, 1);
        return found[0]!;
      });
      assert.equal(r.content, '❤️');
      checked.add('messenger-webhook-reaction.jsonc');
      const edit = prepare('messenger-webhook-message-edit.jsonc', a, c, { '<MESSAGE_ID>': first.mid });
      await post(edit);
      const e = await eventually(() => {
        const found = messages().filter((m) => m.content_attributes.editOf === first.mid);
        assert.equal(found.length, 1);
        return found[0]!;
      });
      assert.deepEqual([e.content, e.content_attributes.in_reply_to, e.message_type], ['✏️ edited: I meant Tuesday', first.messageId, 0]);
      checked.add('messenger-webhook-message-edit.jsonc');

      // A person answering from the Page inbox: outgoing, once, never sent back to Meta.
      const sendsBefore = h.graph.sendApi.length;
      await check('messenger-webhook-echo-text.json', prepare('messenger-webhook-echo-text.json', a, c), (m) => {
        assert.deepEqual([m.message_type, m.content, m.content_attributes.external_echo], [1, 'hello, world!', true]);
      });
      await check('messenger-webhook-echo-image.json', prepare('messenger-webhook-echo-image.json', a, c), (m) => {
        assert.deepEqual([m.message_type, m.attachments.length], [1, 1]);
      });
      await h.chatwoot.webhooksSettled();
      assert.equal(h.graph.sendApi.length, sendsBefore, 'echoes are not sent back to Meta');

      // Receipts: an agent reply, then Meta's delivery and read watermarks.
      // A receipt creates no message: what it changes is the status of the replies it covers.
      const { reply, sent } = await agentReplies(first.conversationId, 'We open at nine.');
      await post(prepare('messenger-webhook-delivery.json', a, c, { 'mid.1458668856218:ed81099e15d3f4f233': sent.id }));
      await eventually(() => assert.equal(byId(reply.id).status, 'delivered'));
      checked.add('messenger-webhook-delivery.json');
      await post(prepare('messenger-webhook-read.json', a, c));
      await eventually(() => assert.equal(byId(reply.id).status, 'read'));
      checked.add('messenger-webhook-read.json');

      const messengerFixtures = messagingFixtureNames().filter((n) => objectOf(n) === 'page');
      assert.deepEqual([...checked].sort(), messengerFixtures, 'every Messenger payload was delivered and checked');
    });

    test('when each Instagram payload is delivered, then text, story reply, story mention, unsend and seen receipts arrive as they should', async () => {
      const a = accounts.instagram;
      const first = await customerWrites(a, 'hi from Instagram', { profile: { name: 'Bea Costa', username: 'bea.costa', profile_pic: 'https://cdn.example/bea.jpg' } });
      const c = first.customerId;
      const contact = h.chatwoot.contacts(ACCOUNT_ID).find((x) => x.contact_inboxes.some((ci) => ci.source_id === c))!;
      assert.equal(contact.name, 'Bea Costa');
      assert.deepEqual(contact.additional_attributes.social_profiles, { instagram: 'bea.costa' });
      const post = async (body: Json) => assert.equal((await h.postWebhook(body)).status, 200);
      const checked = new Set<string>();

      for (const name of ['instagram-webhook-text.chatwoot-fixture.json', 'instagram-webhook-story-reply.json', 'instagram-webhook-story-reply.chatwoot-fixture.json', 'instagram-webhook-story-mention.chatwoot-fixture.json']) {
        const body = prepare(name, a, c);
        await post(body);
        const m = await onlyBySource(midOf(body));
        assert.equal(m.message_type, 0, name);
        if (name.includes('story-reply')) assert.match(m.content!, /^This is the story reply\n↩️ Replied to your story: https:\/\/chatwoot-assets\.local\/sample\.png$/);
        if (name.includes('story-mention')) {
          assert.match(m.content!, /Mentioned you in their story/);
          assert.equal(m.attachments[0]!.sha256, createHash('sha256').update(`story for ${name}`).digest('hex'), 'the story is downloaded while it exists');
        }
        if (name.includes('-text.')) assert.equal(m.content, 'This is the first message from the customer');
        checked.add(name);
      }

      // Unsend: the customer's message is marked deleted, the way Chatwoot's own Instagram channel shows it.
      const doomed = await customerWrites(a, 'oops, wrong chat', { customerId: c });
      await post(prepare('instagram-webhook-unsend-deleted.chatwoot-fixture.json', a, c, { 'message-id-to-delete': doomed.mid }));
      await eventually(() => {
        const m = byId(doomed.messageId);
        assert.deepEqual([m.content, m.content_attributes.deleted], ['This message was deleted', true]);
      });
      checked.add('instagram-webhook-unsend-deleted.chatwoot-fixture.json');

      // Seen receipts name the message seen: it and everything sent before it are read.
      for (const name of ['instagram-webhook-messaging-seen.jsonc', 'instagram-webhook-messaging-seen.chatwoot-fixture.json']) {
        const earlier = await agentReplies(first.conversationId, `earlier ${name}`);
        const { reply, sent } = await agentReplies(first.conversationId, `seen ${name}`);
        const seenMid = name.endsWith('.jsonc') ? '<MESSAGE_ID>' : 'message-id-1';
        await post(prepare(name, a, c, { [seenMid]: sent.id }));
        await eventually(() => {
          assert.equal(byId(reply.id).status, 'read');
          assert.equal(byId(earlier.reply.id).status, 'read');
        });
        checked.add(name);
      }
      const instagramFixtures = messagingFixtureNames().filter((n) => objectOf(n) === 'instagram');
      assert.deepEqual([...checked].sort(), instagramFixtures, 'every Instagram payload was delivered and checked');
    });
  });

  describe('replies from Chatwoot reach the Send API', () => {
    test('when an agent answers a Messenger customer within 24 hours, then the PSID gets a RESPONSE quoting the message, at the Page', async () => {
      const c = await customerWrites(accounts.messenger, 'is it in stock?');
      const { sent, reply } = await agentReplies(c.conversationId, 'Yes, **two** left', { contentAttributes: { in_reply_to: c.messageId } }, 'Yes, two left');
      assert.deepEqual([sent.host, sent.path, sent.recipientId, sent.messagingType, sent.tag, sent.replyTo, sent.text],
        ['facebook', `/v26.0/${PAGE}/messages`, c.customerId, 'RESPONSE', undefined, c.mid, 'Yes, two left']);
      assert.ok(sent.metadata?.startsWith('meta-crm-bridge:'), 'the bridge tags its own sends');
      await eventually(() => assert.notEqual(byId(reply.id).status, 'failed'));
    });

    test('when the customer wrote 3 days ago, then HUMAN_AGENT goes out where enabled, and the reply fails with the reason where not', async () => {
      const threeDaysAgo = Date.now() - 72 * HOUR;
      const tagged = await customerWrites(accounts.messenger, 'old question', { at: threeDaysAgo });
      const { sent } = await agentReplies(tagged.conversationId, 'Sorry for the wait');
      assert.deepEqual([sent.messagingType, sent.tag, sent.recipientId], ['MESSAGE_TAG', 'HUMAN_AGENT', tagged.customerId]);

      const untagged = await customerWrites(accounts.messengerNoTag, 'old question', { at: threeDaysAgo });
      const before = h.graph.requests.length;
      const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, untagged.conversationId, { content: 'too late here' });
      await eventually(() => {
        const m = byId(reply.id);
        assert.equal(m.status, 'failed');
        assert.match(String(m.content_attributes.external_error), /Outside the messaging window: Messenger accepts replies only within 24 hours/);
      });
      assert.equal(h.graph.requests.slice(before).filter((r) => r.path.endsWith('/messages')).length, 0, 'no round trip to Meta');

      const eightDays = await customerWrites(accounts.messenger, 'very old', { at: Date.now() - 8 * 24 * HOUR });
      const late = h.chatwoot.createAgentReply(ACCOUNT_ID, eightDays.conversationId, { content: 'far too late' });
      await eventually(() => assert.match(String(byId(late.id).content_attributes.external_error), /7 days/));
    });

    test('when an Instagram customer is answered, then a Page-token account sends at graph.facebook.com /me and an Instagram-Login account at graph.instagram.com', async () => {
      const viaPage = await customerWrites(accounts.instagram, 'hola');
      const a = await agentReplies(viaPage.conversationId, 'Hi from the Page token');
      assert.deepEqual([a.sent.host, a.sent.path, a.sent.product, a.sent.recipientId, a.sent.messagingType], ['facebook', '/v26.0/me/messages', 'instagram', viaPage.customerId, 'RESPONSE']);
      assert.equal(a.sent.metadata, undefined);
      const viaLogin = await customerWrites(accounts.instagramLogin, 'ciao', { profile: { name: 'Carla', username: 'carla' } });
      const b = await agentReplies(viaLogin.conversationId, 'Hi from the Instagram token', { contentAttributes: { in_reply_to: viaLogin.messageId } });
      assert.deepEqual([b.sent.host, b.sent.path, b.sent.product, b.sent.recipientId, b.sent.replyTo], ['instagram', `/ig-host/v26.0/${IG_LOGIN}/messages`, 'instagram', viaLogin.customerId, viaLogin.mid]);
      const profileCall = h.graph.requests.find((r) => r.method === 'GET' && r.path === `/ig-host/v26.0/${viaLogin.customerId}`);
      assert.equal(profileCall?.query.fields, 'name,username,profile_pic', 'the profile came from graph.instagram.com');
    });

    test('when an agent sends files, then Messenger uploads them with the send and Instagram passes links', async () => {
      const m = await customerWrites(accounts.messenger, 'send the invoice');
      const pdf = Buffer.from('%PDF-1.4 invoice');
      const files = [{ bytes: pdf, mimeType: 'application/pdf', filename: 'invoice.pdf' }];
      const before = h.graph.sendApi.length;
      h.chatwoot.createAgentReply(ACCOUNT_ID, m.conversationId, { content: 'Here it is', attachments: files });
      const sent = await eventually(() => { const s = h.graph.sendApi.slice(before).filter((x) => x.recipientId === m.customerId); assert.equal(s.length, 2); return s; }, 15_000);
      assert.equal(sent[0]!.text, 'Here it is');
      assert.deepEqual(sent[1]!.attachment?.upload && [sent[1]!.attachment.type, sent[1]!.attachment.upload.sha256], ['file', createHash('sha256').update(pdf).digest('hex')]);

      const i = await customerWrites(accounts.instagramLogin, 'photo please');
      const beforeIg = h.graph.sendApi.length;
      h.chatwoot.createAgentReply(ACCOUNT_ID, i.conversationId, { content: '', attachments: [{ bytes: Buffer.from('\x89PNG'), mimeType: 'image/png', filename: 'p.png' }] });
      const [img] = await eventually(() => { const s = h.graph.sendApi.slice(beforeIg).filter((x) => x.recipientId === i.customerId); assert.equal(s.length, 1); return s; }, 15_000);
      assert.equal(img!.attachment?.type, 'image');
      assert.match(img!.attachment?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\//, 'the platform file URL, for Meta to fetch');
    });
  });

  describe('echoes', () => {
    test('when the echo of the bridge\'s own send is delivered before the send call returned, then it is recognised and nothing is duplicated', async () => {
      for (const a of [accounts.messenger, accounts.instagram]) {
        const c = await customerWrites(a, 'race me');
        const ownEchoes = new RegExp(`bridge_events_total\\{channel="${a.channel}",kind="echo",outcome="own_echo"\\} (\\d+)`);
        const ownBefore = await metric(ownEchoes);
        let echoedMid = '';
        h.graph.onSend(async (mid) => {
          echoedMid = mid;
          // Meta's echo reaches the bridge while the send call is still open. Even the bridge's metadata tag is left
          // out: what recognises the echo must be the recorded send, not the tag.
          const res = await h.postWebhook(messagingDelivery(a.object, a.businessId, [echoText(a.businessId, c.customerId, mid, 'Racing the echo')]));
          // The edge answers 200 only once the echo is in its customer's lane (behind the reply being sent).
          assert.equal(res.status, 200);
          assert.equal(await metric(ownEchoes), ownBefore, 'queued behind the send, not handled before it returned');
        });
        try {
          const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'Racing the echo' });
          await eventually(async () => assert.equal(await metric(ownEchoes), ownBefore + 1), 15_000);
          assert.ok(echoedMid);
          await h.chatwoot.webhooksSettled();
          assert.deepEqual(bySource(echoedMid), [], 'the echo did not become a message');
          const inConversation = messages().filter((m) => m.conversation_id === c.conversationId && m.content === 'Racing the echo');
          assert.deepEqual(inConversation.map((m) => m.id), [reply.id], 'the agent\'s message, once');
        } finally {
          h.graph.onSend(undefined);
        }
      }
    });

    test('when the answer to a Messenger send is lost, then its echo (the metadata tag) tells the retry it went out: recorded, not sent again, not shown twice', async () => {
      const c = await customerWrites(accounts.messenger, 'lost answer');
      const ownEchoes = /bridge_events_total\{channel="messenger",kind="echo",outcome="own_echo"\} (\d+)/;
      const ownBefore = await metric(ownEchoes);
      const toCustomer = () => h.graph.sendApi.filter((x) => x.recipientId === c.customerId);
      h.graph.loseAnswers(1);
      const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'Sent once' });
      const [sent] = await eventually(() => { const x = toCustomer(); assert.equal(x.length, 1); return x; }, 15_000);
      assert.match(String(sent!.metadata), /^meta-crm-bridge:/);
      // Meta echoes the send with its metadata; the retry (waiting for it) finds the part sent.
      const echo = messagingDelivery('page', accounts.messenger.businessId, [echoText(accounts.messenger.businessId, c.customerId, sent!.id, 'Sent once', { metadata: sent!.metadata })]);
      assert.equal((await h.postWebhook(echo)).status, 200);
      await eventually(async () => assert.equal(await metric(ownEchoes), ownBefore + 1), 20_000);
      await eventually(() => assert.ok(h.logs.some((l) => l.includes('recorded, not sent again'))));
      await h.chatwoot.webhooksSettled();
      assert.equal(toCustomer().length, 1, 'sent once');
      assert.deepEqual(bySource(sent!.id), [], 'the echo did not become a message');
      assert.deepEqual(messages().filter((m) => m.conversation_id === c.conversationId && m.content === 'Sent once').map((m) => m.id), [reply.id]);
    });

    test('when a person answers from the Page inbox, then it appears once as outgoing, even when Meta delivers the echo twice', async () => {
      const c = await customerWrites(accounts.messenger, 'anyone there?');
      const mid = newMid();
      const echo = messagingDelivery('page', PAGE, [echoText(PAGE, c.customerId, mid, 'Yes — Maria here, from the Page inbox')]);
      const sendsBefore = h.graph.sendApi.length;
      assert.equal((await h.postWebhook(echo)).status, 200);
      assert.equal((await h.postWebhook(echo, { raw: JSON.stringify(echo, null, 1) })).status, 200);
      const m = await onlyBySource(mid);
      assert.deepEqual([m.message_type, m.conversation_id, m.content_attributes.external_echo], [1, c.conversationId, true]);
      await h.chatwoot.webhooksSettled();
      assert.equal(bySource(mid).length, 1);
      assert.equal(h.graph.sendApi.length, sendsBefore, 'not sent back to Meta');
      // Receipts move it like any reply.
      await h.postWebhook(messagingDelivery('page', PAGE, [{ sender: { id: c.customerId }, recipient: { id: PAGE }, timestamp: Date.now() + 5, read: { watermark: Date.now() + 5 } }]));
      await eventually(() => assert.equal(byId(m.id).status, 'read'));
    });

    test('when an echo carries the bridge\'s tag but no send was recorded (a lost response), then it is not shown as a second message', async () => {
      const c = await customerWrites(accounts.messenger, 'hello');
      const mid = newMid();
      await h.postWebhook(messagingDelivery('page', PAGE, [echoText(PAGE, c.customerId, mid, 'sent, response lost', { metadata: 'meta-crm-bridge:999999:0' })]));
      await eventually(async () => assert.ok(await metric(/bridge_events_total\{channel="messenger",kind="echo",outcome="own_echo"\} (\d+)/) >= 1));
      const later = await customerWrites(accounts.messenger, 'after', { customerId: c.customerId });
      assert.ok(later.messageId);
      assert.deepEqual(bySource(mid), []);
    });
  });

  describe('profiles, errors and connections', () => {
    test('when the profile cannot be fetched, then the contact goes under the id, and gets its name with a later message', async () => {
      const a = accounts.messenger;
      const customerId = newScopedId();
      h.graph.addMessagingUser({ businessId: PAGE, id: customerId, profile: { first_name: 'Late', last_name: 'Name', profile_pic: 'https://cdn.example/late.jpg' } });
      h.graph.failNext(new RegExp(`/v26\\.0/${customerId}$`), 1, { status: 500 });
      await customerWrites(a, 'first', { customerId, profile: { first_name: 'Late', last_name: 'Name', profile_pic: 'https://cdn.example/late.jpg' } });
      const contact = () => h.chatwoot.contacts(ACCOUNT_ID).find((x) => x.contact_inboxes.some((ci) => ci.source_id === customerId))!;
      assert.equal(contact().name, customerId, 'falls back to the id');
      // Time passes: the retry is due.
      const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
      try {
        await db.collection('profile_fetches').updateMany({}, { $set: { retryAt: new Date(0) } });
      } finally {
        await db.close();
      }
      await customerWrites(a, 'second', { customerId, profile: { first_name: 'Late', last_name: 'Name', profile_pic: 'https://cdn.example/late.jpg' } });
      await eventually(() => assert.deepEqual([contact().name, contact().avatar_url], ['Late Name', 'https://cdn.example/late.jpg']));
      const fetches = h.graph.requests.filter((r) => r.method === 'GET' && r.path === `/v26.0/${customerId}`).length;
      await customerWrites(a, 'third', { customerId });
      assert.equal(h.graph.requests.filter((r) => r.method === 'GET' && r.path === `/v26.0/${customerId}`).length, fetches, 'fetched once it worked, never again');
    });

    test('when Meta throttles (613), then the reply is retried; when the customer is unavailable (551), it fails with the reason', async () => {
      const c = await customerWrites(accounts.messenger, 'throttle me');
      h.graph.failNext(new RegExp(`/v26\\.0/${PAGE}/messages$`), 2, { status: 400, body: { error: { message: '(#613) Calls to this api have exceeded the rate limit.', type: 'OAuthException', code: 613, fbtrace_id: 'x' } } });
      const { reply } = await agentReplies(c.conversationId, 'after throttling');
      assert.notEqual(byId(reply.id).status, 'failed');

      const gone = await customerWrites(accounts.messenger, 'blocking you now');
      h.graph.addMessagingUser({ businessId: PAGE, id: gone.customerId, unavailable: true });
      const r = h.chatwoot.createAgentReply(ACCOUNT_ID, gone.conversationId, { content: 'are you there?' });
      await eventually(() => {
        const m = byId(r.id);
        assert.equal(m.status, 'failed');
        assert.match(String(m.content_attributes.external_error), /^551\/1545041: This person isn't available right now/);
      });
    });

    test('when Meta refuses a send as outside the window (10/2018278), then the agent reads what Messenger allows', async () => {
      const c = await customerWrites(accounts.messengerNoTag, 'hello');
      h.graph.customerWrote(PAGE2, c.customerId, Date.now() - 30 * HOUR); // Meta's clock says the window has closed
      const r = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'still there?' });
      await eventually(() => assert.match(String(byId(r.id).content_attributes.external_error), /^10\/2018278: Outside the messaging window: Messenger accepts replies only within 24 hours/));
    });

    test('when the Page token is rejected (190), then the connection needs re-authorisation and inbound still flows', async () => {
      const c = await customerWrites(accounts.messengerNoTag, 'token test');
      h.graph.failNext(new RegExp(`/v26\\.0/${PAGE2}/messages$`), 1, { status: 401, body: { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, fbtrace_id: 'x' } } });
      const r = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'token expired' });
      await eventually(() => assert.match(String(byId(r.id).content_attributes.external_error), /^190: Access token invalid or expired/));
      const res = await fetch(`${h.baseUrl}/admin/connections/${accounts.messengerNoTag.connectionId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(((await res.json()) as { health: string }).health, 'needs_reauth');
      await customerWrites(accounts.messengerNoTag, 'still arrives', { customerId: c.customerId });
      const next = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'after' });
      await eventually(() => assert.match(String(byId(next.id).content_attributes.external_error), /Messenger connection needs re-authorisation/));
    });

    test('when connections are created, then the admin API checks channel, ids and options', async () => {
      const post = (body: Json) => fetch(`${h.baseUrl}/admin/connections`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const platform = { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: 'cw-agent-token-abcdefghijkl' };
      const base = { tenantId: await testTenant(h.baseUrl), name: 'x', metaAccessToken: 'EAA-some-token-0123456789', platform };
      assert.equal((await post({ ...base, channel: 'telegram', businessId: '123456' })).status, 400);
      assert.equal((await post({ ...base, channel: 'messenger', businessId: '123456', wabaId: '123456' })).status, 400, 'a WABA id belongs to WhatsApp');
      assert.equal((await post({ ...base, channel: 'messenger', businessId: '123456', options: { tokenKind: 'instagram_login' } })).status, 400, 'token kinds are Instagram\'s');
      assert.equal((await post({ ...base, channel: 'whatsapp', businessId: '123456', options: { humanAgentTag: true } })).status, 400, 'WhatsApp has no options');
      assert.equal((await post({ ...base, channel: 'instagram', businessId: IG_LOGIN, options: { tokenKind: 'instagram_login' } })).status, 409, 'one connection per account');
      const view = await (await fetch(`${h.baseUrl}/admin/connections/${accounts.instagramLogin.connectionId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json() as Json;
      assert.deepEqual([view.channel, view.businessId, view.options], ['instagram', IG_LOGIN, { tokenKind: 'instagram_login', humanAgentTag: true }]);
      assert.ok(!JSON.stringify(view).includes(IG_LOGIN_TOKEN), 'the token never comes out');
    });
  });
});
