/**
 * Messenger and Instagram webhook parsing, table-driven over every payload Meta documents (and Chatwoot's own
 * Instagram test payloads) in ../shared/reference/meta/, then the behaviours those payloads do not show.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessengerDelivery } from '../../src/channels/messenger/webhook';
import { parseInstagramDelivery } from '../../src/channels/instagram/webhook';
import type { InboundEvent, ParsedDelivery } from '../../src/core/events';
import { BRIDGE_METADATA_PREFIX } from '../../src/channels/meta/send-api';
import { asDelivery, messagingDelivery, messagingFixtureNames, objectOf, readFixture, type Json } from '../support/meta-messaging';

function parse(body: Json): ParsedDelivery {
  return body.object === 'instagram' ? parseInstagramDelivery(body) : parseMessengerDelivery(body);
}

function only(parsed: ParsedDelivery): InboundEvent {
  assert.deepEqual(parsed.oddities, []);
  assert.equal(parsed.events.length, 1);
  return parsed.events[0]!;
}

/** What each documented payload must become. */
const EXPECTED: Record<string, (e: any) => void> = {
  'messenger-webhook-text.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.equal(e.text, 'hello, world!');
    assert.equal(e.attributes.quickReplyPayload, '<DEVELOPER_DEFINED_PAYLOAD>');
    assert.equal(e.externalId, 'mid.1457764197618:41d102a3e1ae206a38');
    assert.equal(e.timestamp, 1458692752478);
  },
  'messenger-webhook-ads-referral.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.equal(e.text, 'hello, world!');
    assert.deepEqual([e.attributes.referral.source, e.attributes.referral.adId, e.attributes.referral.type], ['ADS', '<ID_OF_THE_AD>', 'OPEN_THREAD']);
    assert.equal(e.attributes.referral.adsContext.ad_title, '<TITLE_OF_THE_AD>');
  },
  'messenger-webhook-attachment-image.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.deepEqual(e.attachments, [{ kind: 'image', url: '<IMAGE_URL>' }]);
    assert.equal(e.originalType, 'image');
  },
  'messenger-webhook-sticker-entry.json': (e) => {
    assert.equal(e.businessId, '682498302938465');
    assert.deepEqual(e.attachments, [{ kind: 'sticker', url: '<STICKER_URL>' }]);
    assert.equal(e.text, '👍', 'the like sticker reads as a thumbs-up');
  },
  'messenger-webhook-reply-to.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.equal(e.replyTo, 'm_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU');
  },
  'messenger-webhook-postback.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.equal(e.text, '<BUTTON_TITLE>');
    assert.deepEqual(e.attributes.postback, { title: '<BUTTON_TITLE>', payload: '<DEVELOPER_DEFINED_PAYLOAD>' });
    assert.equal(e.originalType, 'postback');
  },
  'messenger-webhook-reaction.jsonc': (e) => {
    assert.equal(e.kind, 'reaction');
    assert.equal(e.emoji, '❤️');
    assert.equal(e.targetExternalId, '<MID_OF_ReactedTo_Message>');
    assert.notEqual(e.externalId, e.targetExternalId, 'a reaction has an id of its own');
  },
  'messenger-webhook-message-edit.jsonc': (e) => {
    assert.equal(e.kind, 'edit');
    assert.equal(e.targetExternalId, '<MESSAGE_ID>');
    assert.equal(e.text, '<TEXT>');
    assert.notEqual(e.externalId, e.targetExternalId);
  },
  'messenger-webhook-echo-text.json': (e) => {
    assert.equal(e.kind, 'echo');
    assert.equal(e.customer.id, '<PSID>', 'the customer of an echo is its recipient');
    assert.equal(e.text, 'hello, world!');
    assert.deepEqual([e.appId, e.metadata], ['1517776481860111', '<DEVELOPER_DEFINED_METADATA_STRING>']);
    assert.equal(e.taggedByBridge, undefined);
  },
  'messenger-webhook-echo-image.json': (e) => {
    assert.equal(e.kind, 'echo');
    assert.deepEqual(e.attachments, [{ kind: 'image', url: '<IMAGE_URL>' }]);
  },
  'messenger-webhook-delivery.json': (e) => {
    assert.equal(e.kind, 'watermark');
    assert.equal(e.status, 'delivered');
    assert.equal(e.upTo, 1458668856253);
    assert.deepEqual(e.externalIds, ['mid.1458668856218:ed81099e15d3f4f233']);
    assert.equal(e.timestamp, 1458668856253, 'no timestamp in the payload: the watermark is the time');
  },
  'messenger-webhook-read.json': (e) => {
    assert.equal(e.kind, 'watermark');
    assert.equal(e.status, 'read');
    assert.equal(e.upTo, 1458668856253);
    assert.deepEqual(e.externalIds, []);
  },
  'instagram-webhook-messaging-seen.jsonc': (e) => {
    assert.equal(e.kind, 'watermark');
    assert.equal(e.status, 'read');
    assert.equal(e.upTo, undefined, 'Instagram names the message seen, not a moment');
    assert.deepEqual(e.externalIds, ['<MESSAGE_ID>']);
    assert.equal(e.businessId, '<YOUR_APP_USERS_INSTAGRAM_USER_ID>');
    assert.equal(e.customer.id, '<INSTAGRAM_SCOPED_ID>');
  },
  'instagram-webhook-messaging-seen.chatwoot-fixture.json': (e) => {
    assert.equal(e.kind, 'watermark');
    assert.deepEqual(e.externalIds, ['message-id-1']);
    assert.equal(e.timestamp, Date.parse('2021-09-08T06:34:04+0000'), "Chatwoot's test data uses ISO times");
  },
  'instagram-webhook-text.chatwoot-fixture.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.equal(e.channel, 'instagram');
    assert.equal(e.text, 'This is the first message from the customer');
    assert.equal(e.customer.id, 'Sender-id-1');
  },
  'instagram-webhook-story-reply.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.match(e.text, /^This is the story reply\n↩️ Replied to your story: https:\/\/chatwoot-assets\.local\/sample\.png$/);
    assert.deepEqual(e.attributes.storyReply, { id: 'chatwoot-app-user-id-1', url: 'https://chatwoot-assets.local/sample.png' });
    assert.equal(e.replyTo, undefined);
  },
  'instagram-webhook-story-reply.chatwoot-fixture.json': (e) => EXPECTED['instagram-webhook-story-reply.json']!(e),
  'instagram-webhook-story-mention.chatwoot-fixture.json': (e) => {
    assert.equal(e.kind, 'message');
    assert.match(e.text, /Mentioned you in their story: https:\/\/www\.example\.com\/test\.jpeg/);
    assert.deepEqual(e.attachments, [{ kind: 'image', url: 'https://www.example.com/test.jpeg' }]);
    assert.equal(e.originalType, 'story_mention');
  },
  'instagram-webhook-unsend-deleted.chatwoot-fixture.json': (e) => {
    assert.equal(e.kind, 'unsend');
    assert.equal(e.targetExternalId, 'message-id-to-delete');
    assert.equal(e.externalId, 'unsend:message-id-to-delete');
  },
};

describe('Messenger and Instagram webhooks: every documented payload', () => {
  for (const name of messagingFixtureNames()) {
    test(name, () => {
      const check = EXPECTED[name];
      assert.ok(check, `no expectation written for ${name}`);
      const event = only(parse(asDelivery(readFixture(name), objectOf(name))));
      assert.equal(event.channel, name.startsWith('instagram') ? 'instagram' : 'messenger');
      check(event);
    });
  }
});

const PAGE = '1063015210542';
const PSID = '24054217774215802';
const at = 1_750_000_000_000;
const item = (fields: Json, from = PSID, to = PAGE): Json => ({ sender: { id: from }, recipient: { id: to }, timestamp: at, ...fields });

describe('Messenger and Instagram webhooks: behaviour', () => {
  test('when a delivery has several entries and items, then every one becomes an event, routed by its own entry', () => {
    const body = {
      object: 'page',
      entry: [
        { id: PAGE, time: at, messaging: [item({ message: { mid: 'm_1', text: 'one' } }), item({ message: { mid: 'm_2', text: 'two' } })] },
        { id: '999000111', time: at, messaging: [item({ message: { mid: 'm_3', text: 'three' } }, PSID, '999000111')] },
      ],
    };
    const parsed = parseMessengerDelivery(body);
    assert.deepEqual(parsed.oddities, []);
    assert.deepEqual(parsed.events.map((e) => [e.businessId, e.externalId]), [[PAGE, 'm_1'], [PAGE, 'm_2'], ['999000111', 'm_3']]);
  });

  test('when the customer removes a reaction, then the reaction event has emoji null; a reaction without emoji gets one', () => {
    const [unreact, named] = parseMessengerDelivery(messagingDelivery('page', PAGE, [
      item({ reaction: { mid: 'm_x', action: 'unreact' } }),
      item({ reaction: { mid: 'm_y', action: 'react', reaction: 'love' } }),
    ])).events as any[];
    assert.equal(unreact.kind, 'reaction');
    assert.equal(unreact.emoji, null);
    assert.equal(named.emoji, '❤️');
    assert.notEqual(unreact.externalId, named.externalId);
  });

  test('when the business sends from Page inbox and when the bridge sent it, then both are echoes; only the tagged one says so', () => {
    const parsed = parseMessengerDelivery(messagingDelivery('page', PAGE, [
      item({ message: { is_echo: true, app_id: 263902037430900, mid: 'm_human', text: 'from the inbox' } }, PAGE, PSID),
      item({ message: { is_echo: true, app_id: 1517776481860111, mid: 'm_bridge', text: 'from the bridge', metadata: `${BRIDGE_METADATA_PREFIX}42:0` } }, PAGE, PSID),
    ]));
    const [human, bridge] = parsed.events as any[];
    assert.deepEqual([human.kind, human.customer.id, human.taggedByBridge], ['echo', PSID, undefined]);
    assert.deepEqual([bridge.kind, bridge.customer.id, bridge.taggedByBridge], ['echo', PSID, true]);
  });

  test('when an Instagram echo arrives among messages without is_echo, then the sender being the account makes it an echo', () => {
    const ig = '17841400000000001';
    const [e] = parseInstagramDelivery(messagingDelivery('instagram', ig, [item({ message: { mid: 'aWdf1', text: 'hi' } }, ig, '9988776655443322')])).events as any[];
    assert.equal(e.kind, 'echo');
    assert.equal(e.customer.id, '9988776655443322');
  });

  test('when shared things arrive (links, places, products, posts, reels), then each is a readable line and kept as an attribute', () => {
    const [e] = parseMessengerDelivery(messagingDelivery('page', PAGE, [item({
      message: {
        mid: 'm_share',
        attachments: [
          { type: 'fallback', payload: { url: 'https://example.com/a', title: 'An article' } },
          { type: 'fallback', title: 'Old style', url: 'https://example.com/b', payload: null },
          { type: 'location', payload: { coordinates: { lat: 52.52, long: 13.405 } } },
          { type: 'template', payload: { product: { elements: [{ id: 'p1', retailer_id: 'sku-1', title: 'Blue shirt' }] } } },
          { type: 'ig_reel', payload: { url: 'https://cdn.example/reel.mp4', reel_video_id: 1234 } },
          { type: 'hologram', payload: { url: 'https://cdn.example/h' } },
        ],
      },
    })])).events as any[];
    assert.equal(e.kind, 'message');
    const lines = e.text.split('\n');
    assert.deepEqual(lines, [
      '🔗 An article — https://example.com/a',
      '🔗 Old style — https://example.com/b',
      '📍 https://maps.google.com/?q=52.52,13.405',
      '🛍️ Shared a product: Blue shirt',
      '📎 Shared an Instagram reel: https://cdn.example/reel.mp4',
      '(a "hologram" attachment the bridge cannot show: https://cdn.example/h)',
    ]);
    assert.deepEqual(e.attributes.location, { latitude: 52.52, longitude: 13.405 });
    assert.equal(e.attributes.shared.length, 5);
    assert.deepEqual(e.attachments, []);
  });

  test('when a sticker arrives both as image and as sticker, then it is one file', () => {
    const [e] = parseMessengerDelivery(messagingDelivery('page', PAGE, [item({
      message: { mid: 'm_st', attachments: [{ type: 'image', payload: { url: 'https://cdn/x.png', sticker_id: 123 } }, { type: 'sticker', payload: { url: 'https://cdn/x.png', sticker_id: 123 } }] },
    })])).events as any[];
    assert.deepEqual(e.attachments, [{ kind: 'sticker', url: 'https://cdn/x.png' }]);
  });

  test('when Instagram marks a message unsupported, then a readable placeholder says why', () => {
    const [e] = parseInstagramDelivery(messagingDelivery('instagram', '1784', [item({ message: { mid: 'm_u', is_unsupported: true } }, PSID, '1784')])).events as any[];
    assert.equal(e.kind, 'message');
    assert.match(e.text, /could not be shown here/);
    assert.ok(e.placeholderReason);
  });

  test('when a standalone referral (m.me link) arrives, then it is a readable message with the referral as attribute', () => {
    const [e] = parseMessengerDelivery(messagingDelivery('page', PAGE, [item({ referral: { ref: 'spring-sale', source: 'SHORTLINK', type: 'OPEN_THREAD' } })])).events as any[];
    assert.equal(e.kind, 'message');
    assert.match(e.text, /m\.me.*spring-sale/);
    assert.equal(e.attributes.referral.ref, 'spring-sale');
  });

  test('when a postback has a mid, then the mid is its id; a redelivery maps to the same id', () => {
    const body = messagingDelivery('page', PAGE, [item({ postback: { mid: 'm_pb', title: 'Get Started', payload: 'GET_STARTED' } }), item({ postback: { title: 'Menu', payload: 'MENU' } })]);
    const first = parseMessengerDelivery(body).events as any[];
    const again = parseMessengerDelivery(structuredClone(body)).events as any[];
    assert.equal(first[0].externalId, 'm_pb');
    assert.equal(first[1].externalId, again[1].externalId);
  });

  test('when items are not conversation events or are broken, then each is an oddity and the rest still parses', () => {
    const parsed = parseMessengerDelivery({
      object: 'page',
      entry: [
        { id: PAGE, time: at, messaging: [
          item({ optin: { ref: 'x' } }),
          item({ message: { text: 'no mid' } }),
          { recipient: { id: PAGE }, timestamp: at, message: { mid: 'm_nosender', text: 'x' } },
          item({ message: { mid: 'm_self', text: 'test', is_self: true } }),
          item({ reaction: { mid: 'm_r', action: 'react', emoji: '👍' } }, PAGE, PSID),
          item({ message: { mid: 'm_ok', text: 'fine' } }),
        ], standby: [item({ message: { mid: 'm_standby', text: 'other app' } })] },
        { time: at, messaging: [item({ message: { mid: 'm_noentry', text: 'x' } })] },
        { id: PAGE, time: at, changes: [{ field: 'feed', value: {} }] },
        'not an entry',
      ],
    });
    assert.deepEqual(parsed.events.map((e) => e.externalId), ['m_ok']);
    assert.equal(parsed.oddities.length, 9);
    for (const o of parsed.oddities) assert.ok(o.reason.length > 10, o.reason);
  });

  test('when the body is not of this channel, then no events and exactly one oddity', () => {
    const parsed = parseInstagramDelivery({ object: 'page', entry: [] });
    assert.equal(parsed.events.length, 0);
    assert.match(parsed.oddities[0]!.reason, /not a delivery for Instagram \(object: "page"\)/);
  });

  test('no damage to any documented payload makes the parser throw or lose an item silently', () => {
    const damage: Array<(v: unknown) => unknown> = [() => null, () => 42, () => 'x', () => [], () => ({}), (v) => (typeof v === 'string' ? '' : v)];
    for (const name of messagingFixtureNames()) {
      const body = asDelivery(readFixture(name), objectOf(name));
      const paths: string[][] = [];
      const walk = (v: unknown, p: string[]): void => {
        if (p.length > 0) paths.push(p);
        if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
      };
      walk(body, []);
      for (const p of paths) {
        for (const d of damage) {
          const copy = structuredClone(body);
          let node: any = copy;
          for (const k of p.slice(0, -1)) node = node[k];
          node[p.at(-1)!] = d(node[p.at(-1)!]);
          const parsed = parse(copy);
          assert.ok(parsed.events.length + parsed.oddities.length >= 1, `${name} ${p.join('.')}: something must come out`);
        }
      }
    }
  });
});
