/**
 * One contract, every channel: WhatsApp, Messenger and Instagram are built exactly as the bridge builds them and
 * put through the same table of behaviours. A channel passes when a text, an attachment, a reaction and a
 * delivery receipt become the neutral events the core expects; a text reply becomes a send to the right person;
 * and Meta's rate-limit and token errors are classified the same way (retry / re-authorise).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelRegistry, type Channel } from '../../src/channels/channel';
import { GraphClient } from '../../src/channels/meta/graph-client';
import { MediaDownloader } from '../../src/channels/meta/media';
import { graphErrorFrom } from '../../src/channels/meta/graph-errors';
import { whatsappChannel } from '../../src/channels/whatsapp';
import { WhatsAppSender } from '../../src/channels/whatsapp/sender';
import { messengerChannel } from '../../src/channels/messenger';
import { instagramChannel } from '../../src/channels/instagram';
import { SendApiSender } from '../../src/channels/meta/send-api-sender';
import type { InboundEvent } from '../../src/core/events';
import type { ConnectionRecord } from '../../src/store/connections';
import { change, delivery, statusChange, textMessage } from '../support/wa-payloads';
import { messagingDelivery, type Json } from '../support/meta-messaging';

// Nothing here is sent anywhere: the clients exist only so the channels are built as in the bridge.
const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:9', version: 'v26.0' });
const limits = { maxBytes: 1024, timeoutMs: 100 };
const media = new MediaDownloader(graph, limits);
const sendApi = new SendApiSender(limits);

/** How one channel's webhooks look: the same four events, in each product's own shape. */
interface Spec {
  channel: Channel;
  businessId: string;
  customerId: string;
  text(id: string, body: string): unknown;
  image(id: string): unknown;
  reaction(id: string, target: string, emoji: string): unknown;
  delivered(target: string): unknown;
  rateLimit: Error;
}

const WA_NUMBER = '106540352242922';
const WA_CUSTOMER = '16505551234';
const waMessage = (m: Json) => delivery([[change([{ from: WA_CUSTOMER, timestamp: '1750000000', ...m }], WA_NUMBER)]]);

const messaging = (object: 'page' | 'instagram', businessId: string, customerId: string) => {
  const item = (fields: Json): Json => ({ sender: { id: customerId }, recipient: { id: businessId }, timestamp: 1_750_000_000_000, ...fields });
  return {
    text: (id: string, body: string) => messagingDelivery(object, businessId, [item({ message: { mid: id, text: body } })]),
    image: (id: string) => messagingDelivery(object, businessId, [item({ message: { mid: id, attachments: [{ type: 'image', payload: { url: 'https://cdn.example/p.jpg' } }] } })]),
    reaction: (id: string, target: string, emoji: string) => messagingDelivery(object, businessId, [item({ reaction: { mid: target, action: 'react', reaction: 'other', emoji } })]),
    delivered: (target: string) => messagingDelivery(object, businessId, [{ sender: { id: customerId }, recipient: { id: businessId }, delivery: { mids: [target], watermark: 1_750_000_000_500 } }]),
  };
};

const graphError = (status: number, code: number, message: string) => graphErrorFrom(status, { error: { message, type: 'OAuthException', code, fbtrace_id: 'x' } });

const SPECS: Record<'whatsapp' | 'messenger' | 'instagram', Spec> = {
  whatsapp: {
    channel: whatsappChannel(media, new WhatsAppSender(graph, limits)),
    businessId: WA_NUMBER,
    customerId: WA_CUSTOMER,
    text: (id, body) => waMessage(textMessage({ from: WA_CUSTOMER, id, body, timestamp: 1750000000 })),
    image: (id) => waMessage({ id, type: 'image', image: { id: '1234567890', mime_type: 'image/jpeg', sha256: 'x' } }),
    reaction: (id, target, emoji) => waMessage({ id, type: 'reaction', reaction: { message_id: target, emoji } }),
    delivered: (target) => delivery([[statusChange([{ id: target, status: 'delivered', recipient: WA_CUSTOMER, timestamp: 1750000001 }], WA_NUMBER)]]),
    rateLimit: graphError(429, 130429, '(#130429) Rate limit hit'),
  },
  messenger: {
    channel: messengerChannel({ media, sender: sendApi, facebook: graph }),
    businessId: '1063015210542',
    customerId: '24054217774215802',
    ...messaging('page', '1063015210542', '24054217774215802'),
    rateLimit: graphError(400, 613, '(#613) Calls to this api have exceeded the rate limit.'),
  },
  instagram: {
    channel: instagramChannel({ media, sender: sendApi, facebook: graph, instagram: graph }),
    businessId: '17841400000000001',
    customerId: '9988776655443322',
    ...messaging('instagram', '17841400000000001', '9988776655443322'),
    rateLimit: graphError(400, 613, '(#613) Calls to this api have exceeded the rate limit.'),
  },
};

function one(channel: Channel, body: unknown): InboundEvent {
  const parsed = channel.parse(body);
  assert.deepEqual(parsed.oddities, []);
  assert.equal(parsed.events.length, 1);
  return parsed.events[0]!;
}

describe('channel contract', () => {
  test('the three channels register together: each reads its own webhook object', () => {
    const registry = new ChannelRegistry(Object.values(SPECS).map((s) => s.channel));
    assert.equal(registry.forBody({ object: 'whatsapp_business_account' })?.kind, 'whatsapp');
    assert.equal(registry.forBody({ object: 'page' })?.kind, 'messenger');
    assert.equal(registry.forBody({ object: 'instagram' })?.kind, 'instagram');
  });

  for (const [kind, spec] of Object.entries(SPECS)) {
    describe(kind, () => {
      const { channel } = spec;

      test('parses a text message', () => {
        const e = one(channel, spec.text('msg-text-1', 'Hello there'));
        assert.equal(e.kind, 'message');
        if (e.kind !== 'message') return;
        assert.deepEqual([e.channel, e.businessId, e.externalId, e.customer.id, e.text], [kind, spec.businessId, 'msg-text-1', spec.customerId, 'Hello there']);
        assert.ok(e.timestamp > 1_700_000_000_000, 'timestamps are ms');
      });

      test('parses an attachment', () => {
        const e = one(channel, spec.image('msg-img-1'));
        assert.equal(e.kind, 'message');
        if (e.kind !== 'message') return;
        assert.equal(e.attachments.length, 1);
        assert.equal(e.attachments[0]!.kind, 'image');
        assert.ok(e.attachments[0]!.mediaId || e.attachments[0]!.url, 'something to download it by');
      });

      test('parses a reaction', () => {
        const e = one(channel, spec.reaction('msg-react-1', 'msg-text-1', '😮'));
        assert.equal(e.kind, 'reaction');
        if (e.kind !== 'reaction') return;
        assert.deepEqual([e.targetExternalId, e.emoji, e.customer.id], ['msg-text-1', '😮', spec.customerId]);
        assert.notEqual(e.externalId, 'msg-text-1');
      });

      test('parses a delivery status of a business message', () => {
        const e = one(channel, spec.delivered('msg-out-1'));
        assert.ok(e.kind === 'status' || e.kind === 'watermark', e.kind);
        if (e.kind === 'status') {
          assert.deepEqual([e.status, e.externalId, e.recipient.id], ['delivered', 'msg-out-1', spec.customerId]);
        } else if (e.kind === 'watermark') {
          assert.deepEqual([e.status, e.externalIds, e.customer.id], ['delivered', ['msg-out-1'], spec.customerId]);
        }
      });

      test('plans a text reply to the customer', () => {
        const parts = channel.outbound.plan({ content: 'Thanks, on it', attachments: [] }, { id: spec.customerId }, 'msg-text-1');
        assert.equal(parts.length, 1);
        assert.deepEqual([parts[0]!.index, parts[0]!.kind], [0, 'text']);
        const body = (parts[0] as unknown as { body: Json }).body;
        assert.ok(JSON.stringify(body).includes(spec.customerId), 'addressed to the customer');
        assert.ok(JSON.stringify(body).includes('Thanks, on it'));
        assert.ok(JSON.stringify(body).includes('msg-text-1'), 'quotes the message answered');
        assert.ok(channel.outbound.replyWindowHours >= 24);
      });

      test('classifies a rate-limit error as retryable', () => {
        const failure = channel.outbound.describeFailure(spec.rateLimit);
        assert.deepEqual([failure.retryable, failure.reauth], [true, false]);
        assert.ok(failure.text.length > 10);
      });

      test('classifies a token error as needing re-authorisation, not retry', () => {
        const failure = channel.outbound.describeFailure(graphError(401, 190, 'Error validating access token: Session has expired'));
        assert.deepEqual([failure.retryable, failure.reauth], [false, true]);
        assert.match(failure.text, /^190: /);
      });

      test('says why a reply outside the window cannot go', () => {
        const conn = { channel: kind, options: {} } as unknown as ConnectionRecord;
        assert.match(channel.outbound.windowClosedReason(conn), /24 hours|24-hour|template/i);
      });
    });
  }
});
