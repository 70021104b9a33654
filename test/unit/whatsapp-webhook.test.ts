import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isWhatsAppDelivery, parseWhatsAppDelivery } from '../../src/channels/whatsapp/webhook';
import type { InboundEvent, InboundMessageEvent, ParsedDelivery, StatusEvent } from '../../src/core/events';

const META_DIR = path.resolve(__dirname, '../../../shared/reference/meta');
const FIXTURE_DIR = path.resolve(__dirname, '../fixtures/whatsapp');
const PHONE_NUMBER_ID = '106540352242922';
const SHEENA = { id: '16505551234', phone: '16505551234', name: 'Sheena Nelson' };
const BSUID = 'US.13491208655302741918';
const PLACEHOLDER = /^⚠️ This message could not be shown here \(.+\)\. Ask the customer to send it again or check the phone\.$/;

/** The fields we check on one event; any field left out is not checked. */
type Expected = { [key: string]: unknown; kind: InboundEvent['kind']; text?: string | RegExp };

interface Case {
  events: Expected[];
  oddities?: RegExp[];
}

function load(dir: string, file: string): unknown {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
}

function check(parsed: ParsedDelivery, expected: Case, label: string): void {
  assert.equal(parsed.events.length, expected.events.length, `${label}: event count (${JSON.stringify(parsed)})`);
  expected.events.forEach((want, i) => {
    const got = parsed.events[i] as unknown as Record<string, unknown>;
    assert.equal(got.channel, 'whatsapp', label);
    assert.equal(got.businessId, PHONE_NUMBER_ID, `${label}: routed on metadata.phone_number_id`);
    assert.equal(typeof got.timestamp, 'number', label);
    for (const [key, value] of Object.entries(want)) {
      if (value instanceof RegExp) assert.match(String(got[key]), value, `${label}: ${key}`);
      else assert.deepEqual(got[key], value, `${label}: ${key}`);
    }
  });
  const oddities = expected.oddities ?? [];
  assert.equal(parsed.oddities.length, oddities.length, `${label}: oddity count (${JSON.stringify(parsed.oddities)})`);
  oddities.forEach((pattern, i) => assert.match(parsed.oddities[i]?.reason ?? '', pattern, label));
}

/** Every Meta payload in shared/reference/meta, by file name. A new file there fails the table until it has a row. */
const META_CASES: Record<string, Case> = {
  'whatsapp-webhook-account-update-partner-added.json': {
    events: [],
    oddities: [/^entry 2949482758682047, change #1: account update PARTNER_ADDED for WABA 980198427658004$/],
  },
  'whatsapp-webhook-document.json': {
    events: [{
      kind: 'message', originalType: 'document', text: 'my receipt', customer: SHEENA, timestamp: 1744344496000,
      externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      attachments: [{
        kind: 'document', mediaId: '622684793477189', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...',
        mimeType: 'application/pdf', sha256: 'V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=', filename: 'receipt.pdf',
      }],
      attributes: {}, replyTo: undefined, placeholderReason: undefined,
    }],
  },
  'whatsapp-webhook-image.json': {
    events: [{
      kind: 'message', originalType: 'image', text: 'Taj Mahal', customer: SHEENA,
      attachments: [{
        kind: 'image', mediaId: '1003383421387256', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...',
        mimeType: 'image/jpeg', sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
      }],
    }],
  },
  'whatsapp-webhook-interactive-button-reply.json': {
    events: [{
      kind: 'message', originalType: 'interactive', text: 'Change', attachments: [],
      customer: { id: '16505551234', phone: '16505551234', name: 'Pablo Morales' },
      replyTo: 'wamid.HBgLMTY0NjcwNDM1OTUVAgARGBJBM0Y4RUU0RUNFQkFDMjYzQUMA',
      attributes: { interactive: { type: 'button_reply', id: 'change-button', title: 'Change' } },
    }],
  },
  'whatsapp-webhook-interactive-list-reply.json': {
    events: [{
      kind: 'message', originalType: 'interactive', text: 'Priority Mail Express\nNext Day to 2 Days', customer: SHEENA,
      replyTo: 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=',
      attributes: { interactive: { type: 'list_reply', id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' } },
    }],
  },
  'whatsapp-webhook-message-template-status-update-approved.json': {
    events: [],
    oddities: [/^entry 102290129340398, change #1: template "order_confirmation" \(en-US\) is now APPROVED$/],
  },
  'whatsapp-webhook-message-template-status-update-rejected.json': {
    events: [],
    oddities: [/template "abandoned_cart" \(en\) is now REJECTED: INVALID_FORMAT — Your template has parameters placed next to each other/],
  },
  'whatsapp-webhook-spec-button-message.json': {
    events: [{
      kind: 'message', originalType: 'button', text: 'Unsubscribe', customer: SHEENA,
      replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA',
      attributes: { button: { payload: 'Unsubscribe', text: 'Unsubscribe' } },
    }],
  },
  'whatsapp-webhook-spec-contact-sharing-message.json': {
    events: [{
      kind: 'message', originalType: 'contacts', customer: SHEENA, attachments: [],
      text: '👤 Lucía Gómez\n🏢 Google\n📞 +1 (983) 555-2319',
      attributes: {
        contacts: [{
          name: { first_name: 'Lucía', last_name: 'Gómez', formatted_name: 'Lucía Gómez' },
          org: { company: 'Google' },
          phones: [{ phone: '+1 (983) 555-2319', wa_id: '19835552319', type: 'MOBILE' }],
        }],
      },
    }],
  },
  'whatsapp-webhook-spec-image-message.json': {
    events: [{
      kind: 'message', originalType: 'image', text: 'Taj Mahal', customer: SHEENA,
      attachments: [{ kind: 'image', mediaId: '1003383421387256', mimeType: 'image/jpeg', sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=' }],
    }],
  },
  'whatsapp-webhook-spec-interactive-button-reply-message.json': {
    events: [{
      kind: 'message', originalType: 'interactive', text: 'Cancel', customer: SHEENA,
      replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA',
      attributes: { interactive: { type: 'button_reply', id: 'cancel-button', title: 'Cancel' } },
    }],
  },
  'whatsapp-webhook-spec-interactive-list-reply-message.json': {
    events: [{
      kind: 'message', originalType: 'interactive', text: 'Priority Mail Express\nNext Day to 2 Days',
      replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA',
    }],
  },
  'whatsapp-webhook-spec-location-message.json': {
    events: [{
      kind: 'message', originalType: 'location', customer: SHEENA, attachments: [],
      text: '📍 Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301\nhttps://maps.google.com/?q=37.44221496582,-122.16165924072',
      attributes: {
        location: {
          latitude: 37.44221496582, longitude: -122.16165924072, name: 'Philz Coffee',
          address: '101 Forest Ave, Palo Alto, CA 94301', url: 'https://philzcoffee.com/',
        },
      },
    }],
  },
  'whatsapp-webhook-spec-reaction-message.json': {
    events: [{
      kind: 'reaction', customer: SHEENA, emoji: '👍', timestamp: 1749419544000,
      externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
      targetExternalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA',
    }],
  },
  'whatsapp-webhook-spec-system-message.json': {
    events: [{
      kind: 'message', originalType: 'system', customer: { id: '16505551234', phone: '16505551234' },
      text: 'User Sheena Nelson changed from 16505551234 to 12195555358',
      placeholderReason: 'system: user_changed_number',
      attributes: { system: { type: 'user_changed_number', newWaId: '12195555358' } },
    }],
  },
  'whatsapp-webhook-spec-text-message.json': {
    events: [{
      kind: 'message', originalType: 'text', text: 'Does it come in another color?', customer: SHEENA, timestamp: 1749416383000,
      attachments: [], attributes: {}, replyTo: undefined, forwarded: undefined, placeholderReason: undefined,
    }],
  },
  'whatsapp-webhook-spec-unsupported-message.json': {
    events: [{
      kind: 'message', originalType: 'unsupported', customer: SHEENA, attachments: [],
      text: '⚠️ This message could not be shown here (Message type unknown — 131051: Message type is currently not supported). Ask the customer to send it again or check the phone.',
      placeholderReason: '131051: Message type unknown',
    }],
  },
  'whatsapp-webhook-status-delivered.json': {
    events: [{
      kind: 'status', status: 'delivered', externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA',
      timestamp: 1750263773000, recipient: { id: '16505551234', phone: '16505551234' }, errors: [],
    }],
  },
  'whatsapp-webhook-status-failed.json': {
    events: [{
      kind: 'status', status: 'failed', timestamp: 1751142888000, recipient: { id: '16505551234', phone: '16505551234' },
      errors: [{
        code: 131049,
        title: 'This message was not delivered to maintain healthy ecosystem engagement.',
        message: 'This message was not delivered to maintain healthy ecosystem engagement.',
        details: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
      }],
    }],
  },
  'whatsapp-webhook-status-sent-v24-minimal.json': {
    events: [{ kind: 'status', status: 'sent', externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=', errors: [] }],
  },
  'whatsapp-webhook-status-sent.json': {
    events: [{ kind: 'status', status: 'sent', timestamp: 1750030073000, recipient: { id: '16505551234', phone: '16505551234' }, errors: [] }],
  },
  'whatsapp-webhook-sticker.json': {
    events: [{
      kind: 'message', originalType: 'sticker', text: '', customer: SHEENA,
      attachments: [{
        kind: 'sticker', mediaId: '1908647269898587', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...',
        mimeType: 'image/webp', sha256: 'wvqXMe6n7n1W0zphvLPoLj+s/NtKqmr3zZ7YzTP7xFI=', animated: true,
      }],
    }],
  },
  'whatsapp-webhook-text.json': {
    events: [{ kind: 'message', originalType: 'text', text: 'Does it come in another color?', customer: SHEENA, attachments: [] }],
  },
};

/** Built from Meta's documented syntax for types with no published full example (see test/fixtures/whatsapp/README.md). */
const FIXTURE_CASES: Record<string, Case> = {
  'audio-voice.json': {
    events: [{
      kind: 'message', originalType: 'audio', text: '', customer: SHEENA,
      attachments: [{
        kind: 'audio', mediaId: '1146390550471046', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1146390550471046',
        mimeType: 'audio/ogg; codecs=opus', sha256: '6hv0W1HqTtl1mAnsJwTjcQ6VnCm1YhwE8dWdFY6lFRo=', voice: true,
      }],
    }],
  },
  'video.json': {
    events: [{
      kind: 'message', originalType: 'video', text: 'My vacation video',
      attachments: [{ kind: 'video', mediaId: '1166846181421424', mimeType: 'video/mp4', sha256: '0Phd8MAfmlOCBjI9GU6v1ZkbgXXEVbhbrBD0ETTySJg=' }],
    }],
  },
  'order.json': {
    events: [{
      kind: 'message', originalType: 'order', attachments: [],
      text: '🛒 Order (2 items):\n• di9ozbzfi4 × 2 @ 30 USD\n• nqryix03ez × 1 @ 25 USD',
    }],
  },
  'nfm-reply-flow.json': {
    events: [{
      kind: 'message', originalType: 'interactive', replyTo: 'wamid.FIXTURE.FLOW.REQUEST.1',
      text: 'delivery_date: 2026-06-02\nsize: M\nextras: gift wrap, card',
      attributes: {
        interactive: {
          type: 'nfm_reply', name: 'flow',
          response: { flow_token: 'AQAAAAACS5FpgQ_cAAAAAD0QI3s.', delivery_date: '2026-06-02', size: 'M', extras: ['gift wrap', 'card'] },
        },
      },
    }],
  },
  'edit-coexistence.json': {
    events: [{
      kind: 'message', originalType: 'edit', text: '✏️ edited: Does it come in blue?', replyTo: 'wamid.FIXTURE.ORIGINAL.1',
      attributes: { editOf: 'wamid.FIXTURE.ORIGINAL.1' }, attachments: [],
    }],
  },
  'revoke-coexistence.json': {
    events: [{
      kind: 'message', originalType: 'revoke', text: '🗑️ The customer deleted a message', replyTo: 'wamid.FIXTURE.ORIGINAL.1',
      attributes: { revokes: 'wamid.FIXTURE.ORIGINAL.1' },
    }],
  },
  'text-bsuid-only.json': {
    events: [{
      kind: 'message', text: 'Hi, I found you through your username',
      customer: { id: BSUID, bsuid: BSUID, username: 'sheena.n', name: 'Sheena Nelson' },
    }],
  },
  'text-forwarded-referral.json': {
    events: [{
      kind: 'message', text: 'Is this still available?', forwarded: 'frequently_forwarded', replyTo: undefined,
      attributes: {
        referral: {
          source_url: 'https://fb.me/3cr4Wqqkv', source_id: '120226305854810726', source_type: 'ad', body: 'Summer Succulents are here!',
          headline: 'Chat with us', media_type: 'image', image_url: 'https://scontent.xx.fbcdn.net/v/t45.1...',
          ctwa_clid: 'Aff-n8ZTODiE79d22KtAwQKj9e', welcome_message: { text: 'Hi there! Let us know how we can help!' },
        },
      },
    }],
  },
  'text-referred-product.json': {
    events: [{
      kind: 'message', text: 'Does it come in another color?', replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA',
      attributes: { referredProduct: { catalog_id: '194836987003835', product_retailer_id: 'di9ozbzfi4' } },
    }],
  },
  'system-user-changed-user-id.json': {
    events: [{
      kind: 'message', originalType: 'system', customer: { id: BSUID, bsuid: BSUID },
      text: 'User Sheena Nelson changed their business-scoped user ID', placeholderReason: 'system: user_changed_user_id',
      attributes: { system: { type: 'user_changed_user_id', newUserId: 'US.99887766554433221100' } },
    }],
  },
  'status-read-bsuid.json': {
    events: [{ kind: 'status', status: 'read', recipient: { id: BSUID, bsuid: BSUID, username: 'sheena.n', name: 'Sheena Nelson' } }],
  },
  'status-played.json': {
    events: [],
    oddities: [/status #1 \(wamid\.FIXTURE\.OUT\.VOICE\.1\): status "played" \(voice message first played\) has no neutral equivalent/],
  },
};

describe('WhatsApp webhook: every real Meta payload', () => {
  const files = readdirSync(META_DIR).filter((f) => /^whatsapp-webhook-.*\.json$/.test(f)).sort();

  test('the table covers exactly the payload files on disk', () => {
    assert.ok(files.length >= 20, `expected Meta's payloads in ${META_DIR}`);
    assert.deepEqual(files, Object.keys(META_CASES).sort());
  });

  for (const file of files) {
    test(file, () => {
      const body = load(META_DIR, file);
      assert.equal(isWhatsAppDelivery(body), true);
      check(parseWhatsAppDelivery(body), META_CASES[file] ?? { events: [{ kind: 'message', text: 'no row for this file' }] }, file);
    });
  }
});

describe('WhatsApp webhook: payloads built from documented syntax', () => {
  const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();

  test('the table covers exactly the fixture files on disk', () => {
    assert.deepEqual(files, Object.keys(FIXTURE_CASES).sort());
  });

  for (const file of files) {
    test(file, () => {
      check(parseWhatsAppDelivery(load(FIXTURE_DIR, file)), FIXTURE_CASES[file] ?? { events: [{ kind: 'message', text: 'no row for this file' }] }, file);
    });
  }
});

// ---- small builders for the behaviour tests ----

type Json = Record<string, unknown>;

function text(from: string, id: string, body: string, seconds = 1750000000): Json {
  return { from, id, timestamp: String(seconds), type: 'text', text: { body } };
}

function value(parts: Json, phoneNumberId = PHONE_NUMBER_ID): Json {
  return { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId }, ...parts };
}

function body(...changes: unknown[][]): Json {
  return { object: 'whatsapp_business_account', entry: changes.map((c, i) => ({ id: `waba-${i}`, changes: c })) };
}

function messagesChange(parts: Json, phoneNumberId?: string): Json {
  return { field: 'messages', value: value(parts, phoneNumberId) };
}

function messages(parsed: ParsedDelivery): InboundMessageEvent[] {
  return parsed.events.filter((e): e is InboundMessageEvent => e.kind === 'message');
}

describe('WhatsApp webhook: behaviour', () => {
  test('when a delivery has 3 entries of 2 messages each, then all 6 become events, in order, each routed by its own number', () => {
    const entries = [0, 1, 2].map((e) => [messagesChange({
      contacts: [{ profile: { name: `C${e}` }, wa_id: `1555000000${e}` }],
      messages: [0, 1].map((m) => text(`1555000000${e}`, `wamid.E${e}M${m}`, `entry ${e} message ${m}`, 1750000000 + e * 10 + m)),
    }, `pn-${e}`)]);
    const parsed = parseWhatsAppDelivery(body(...entries));
    assert.deepEqual(parsed.oddities, []);
    assert.deepEqual(parsed.events.map((e) => e.externalId), ['wamid.E0M0', 'wamid.E0M1', 'wamid.E1M0', 'wamid.E1M1', 'wamid.E2M0', 'wamid.E2M1']);
    assert.deepEqual(parsed.events.map((e) => e.businessId), ['pn-0', 'pn-0', 'pn-1', 'pn-1', 'pn-2', 'pn-2']);
    assert.deepEqual(messages(parsed).map((e) => `${e.customer.name}: ${e.text}`), [
      'C0: entry 0 message 0', 'C0: entry 0 message 1', 'C1: entry 1 message 0', 'C1: entry 1 message 1', 'C2: entry 2 message 0', 'C2: entry 2 message 1',
    ]);
    assert.equal(parsed.events[5]?.timestamp, 1750000021000);
  });

  test('when account_update says the app was uninstalled or the partner removed, then the WABA of waba_info (not entry.id) is a revocation, timed by entry.time; other account updates are not', () => {
    const update = (event: string, wabaInfo: unknown) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: '2949482758682047', time: 1744823932, changes: [{ field: 'account_update', value: { event, waba_info: wabaInfo } }] }],
    });
    const cases: Array<[string, unknown, unknown[], RegExp]> = [
      ['PARTNER_APP_UNINSTALLED', { waba_id: '980198427658004', owner_business_id: '2329417887457253' },
        [{ kind: 'access_revoked', channel: 'whatsapp', wabaId: '980198427658004', event: 'PARTNER_APP_UNINSTALLED', occurredAt: 1744823932000 }],
        /account update PARTNER_APP_UNINSTALLED for WABA 980198427658004: this app lost access to it$/],
      ['PARTNER_REMOVED', { waba_id: '980198427658004', partner_app_id: 1234567890123 },
        [{ kind: 'access_revoked', channel: 'whatsapp', wabaId: '980198427658004', event: 'PARTNER_REMOVED', partnerAppId: '1234567890123', occurredAt: 1744823932000 }],
        /PARTNER_REMOVED for WABA 980198427658004/],
      ['PARTNER_APP_UNINSTALLED', { owner_business_id: '2329417887457253' }, [], /without a usable waba_info\.waba_id: .* nothing is disconnected$/],
      ['PARTNER_APP_UNINSTALLED', { waba_id: '../../me' }, [], /without a usable waba_info\.waba_id/],
      ['PARTNER_ADDED', { waba_id: '980198427658004' }, [], /account update PARTNER_ADDED for WABA 980198427658004$/],
      ['ACCOUNT_VIOLATION', undefined, [], /account update ACCOUNT_VIOLATION$/],
    ];
    for (const [event, wabaInfo, revocations, oddity] of cases) {
      const parsed = parseWhatsAppDelivery(update(event, wabaInfo));
      assert.deepEqual(parsed.events, [], event);
      assert.deepEqual(parsed.revocations ?? [], revocations, `${event} ${JSON.stringify(wabaInfo)}`);
      assert.equal(parsed.oddities.length, 1, 'still described for the log');
      assert.match(parsed.oddities[0]!.reason, oddity);
    }
  });

  test('when one change carries two customers, then contacts are matched by wa_id / user_id, not by position', () => {
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      contacts: [
        { profile: { name: 'Bea', username: 'bea' }, user_id: 'US.222' },
        { profile: { name: 'Ann' }, wa_id: '15550000001', user_id: 'US.111' },
      ],
      messages: [text('15550000001', 'wamid.A', 'from Ann'), { ...text('', 'wamid.B', 'from Bea'), from: undefined, from_user_id: 'US.222' }],
    })]));
    assert.deepEqual(messages(parsed).map((e) => e.customer), [
      { id: '15550000001', phone: '15550000001', bsuid: 'US.111', name: 'Ann' },
      { id: 'US.222', bsuid: 'US.222', username: 'bea', name: 'Bea' },
    ]);
  });

  test('when the customer has only a BSUID (no wa_id, no from), then customer.id is the BSUID', () => {
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      contacts: [{ profile: { name: 'Sheena Nelson', username: 'sheena.n' }, user_id: BSUID }],
      messages: [{ from_user_id: BSUID, id: 'wamid.BSUID', timestamp: '1775000000', type: 'text', text: { body: 'hi' } }],
    })]));
    const [event] = messages(parsed);
    assert.deepEqual(event?.customer, { id: BSUID, bsuid: BSUID, username: 'sheena.n', name: 'Sheena Nelson' });
  });

  test('when the customer has both, then wa_id is the id and the BSUID is kept beside it', () => {
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      contacts: [{ profile: { name: 'S' }, wa_id: '16505551234', user_id: BSUID }],
      messages: [{ ...text('16505551234', 'wamid.BOTH', 'hi'), from_user_id: BSUID }],
    })]));
    assert.deepEqual(messages(parsed)[0]?.customer, { id: '16505551234', phone: '16505551234', bsuid: BSUID, name: 'S' });
  });

  test('when a message type is unknown to us, then it becomes a readable placeholder, not dropped', () => {
    const poll = { from: '16505551234', id: 'wamid.POLL', timestamp: '1750000000', type: 'poll', poll: { question: 'Lunch?' } };
    const noType = { from: '16505551234', id: 'wamid.NOTYPE', timestamp: '1750000000' };
    const parsed = parseWhatsAppDelivery(body([messagesChange({ messages: [poll, noType] })]));
    const [first, second] = messages(parsed);
    assert.match(first?.text ?? '', PLACEHOLDER);
    assert.match(first?.text ?? '', /"poll" messages are not supported/);
    assert.equal(first?.placeholderReason, 'unsupported type: poll');
    assert.equal(first?.originalType, 'poll');
    assert.match(second?.text ?? '', PLACEHOLDER);
    assert.equal(second?.placeholderReason, 'malformed: no type');
  });

  test('when any message carries errors[], then the errors are shown instead of content', () => {
    const image = {
      ...text('16505551234', 'wamid.ERR', ''), type: 'image', text: undefined, image: { id: '1', mime_type: 'image/jpeg' },
      errors: [{ code: 131052, title: 'Media download error', error_data: { details: 'File too big.' } }, { code: 131000, message: 'Something went wrong' }],
    };
    const [event] = messages(parseWhatsAppDelivery(body([messagesChange({ messages: [image] })])));
    assert.equal(event?.text, '⚠️ This message could not be shown here (Media download error — 131052: File too big; Something went wrong — 131000). Ask the customer to send it again or check the phone.');
    assert.equal(event?.placeholderReason, '131052: Media download error; 131000: Something went wrong');
    assert.deepEqual(event?.attachments, []);
  });

  test('when items are malformed, then each becomes an oddity and the rest of the batch still parses', () => {
    const parsed = parseWhatsAppDelivery(body(
      [
        messagesChange({
          contacts: 'not a list',
          messages: [
            null,
            { from: '16505551234', timestamp: '1750000000', type: 'text', text: { body: 'no id' } },
            { from: '16505551234', id: 'wamid.BADTS', timestamp: 'yesterday', type: 'text', text: { body: 'bad time' } },
            { id: 'wamid.NOSENDER', timestamp: '1750000000', type: 'text', text: { body: 'who?' } },
            { from: '16505551234', id: 'wamid.NOTARGET', timestamp: '1750000000', type: 'reaction', reaction: { emoji: '👍' } },
            text('16505551234', 'wamid.GOOD1', 'still here'),
            { from: '16505551234', id: 'wamid.NOBODY', timestamp: '1750000000', type: 'text', text: { body: 42 } },
            { from: '16505551234', id: 'wamid.NOMEDIA', timestamp: '1750000000', type: 'image', image: { caption: 'no id' } },
          ],
          statuses: [{ status: 'read', timestamp: '1750000000', recipient_id: '1' }, { id: 'wamid.S', status: 'bounced', timestamp: '1750000000', recipient_id: '1' }],
        }),
        { field: 'messages', value: { messaging_product: 'whatsapp', messages: [text('1', 'wamid.UNROUTABLE', 'x')] } },
        'not a change',
      ],
      [messagesChange({ messages: [text('16505551234', 'wamid.GOOD2', 'next entry')] })],
    ));
    assert.deepEqual(parsed.events.map((e) => e.externalId), ['wamid.GOOD1', 'wamid.NOBODY', 'wamid.NOMEDIA', 'wamid.GOOD2']);
    const [, nobody, nomedia] = messages(parsed);
    assert.equal(nobody?.placeholderReason, 'malformed text');
    assert.equal(nomedia?.placeholderReason, 'malformed image');
    assert.match(nomedia?.text ?? '', PLACEHOLDER);
    const reasons = parsed.oddities.map((o) => o.reason);
    assert.deepEqual(reasons, [
      'entry waba-0, change #1, message #1: not an object',
      'entry waba-0, change #1, message #2: missing id; not forwarded',
      'entry waba-0, change #1, message #3 (wamid.BADTS): missing timestamp; not forwarded',
      'entry waba-0, change #1, message #4 (wamid.NOSENDER): missing sender (from / from_user_id); not forwarded',
      'entry waba-0, change #1, message #5 (wamid.NOTARGET): reaction without message_id; not forwarded',
      'entry waba-0, change #1, status #1: missing id; not forwarded',
      'entry waba-0, change #1, status #2 (wamid.S): unknown status "bounced"; not forwarded',
      'entry waba-0, change #2: messages change without metadata.phone_number_id, so it cannot be routed',
      'entry waba-0, change #3: "(no field)" webhook (no event) is not a conversation event',
    ]);
    assert.ok(parsed.oddities.slice(0, 7).every((o) => o.businessId === PHONE_NUMBER_ID));
  });

  test('when the body is not a WhatsApp delivery at all, then no events and exactly one oddity', () => {
    for (const input of [null, undefined, 'text', 42, [], {}, { object: 'page', entry: [] }, { object: 'whatsapp_business_account' }, { object: 'whatsapp_business_account', entry: {} }]) {
      const parsed = parseWhatsAppDelivery(input);
      assert.deepEqual(parsed.events, [], JSON.stringify(input));
      assert.equal(parsed.oddities.length, 1, JSON.stringify(input));
    }
    assert.match(parseWhatsAppDelivery({ object: 'page', entry: [] }).oddities[0]?.reason ?? '', /not a WhatsApp delivery \(object: "page"\)/);
    assert.equal(isWhatsAppDelivery({ object: 'page' }), false);
    assert.equal(isWhatsAppDelivery(null), false);
  });

  test('when the customer removes a reaction (emoji missing or empty), then the reaction event has emoji null', () => {
    const reaction = (id: string, r: Json): Json => ({ from: '16505551234', id, timestamp: '1750000000', type: 'reaction', reaction: r });
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      messages: [reaction('wamid.R1', { message_id: 'wamid.T' }), reaction('wamid.R2', { message_id: 'wamid.T', emoji: '' }), reaction('wamid.R3', { message_id: 'wamid.T', emoji: '❤️' })],
    })]));
    assert.deepEqual(parsed.events.map((e) => (e.kind === 'reaction' ? [e.targetExternalId, e.emoji] : e.kind)), [['wamid.T', null], ['wamid.T', null], ['wamid.T', '❤️']]);
  });

  test('when statuses carry errors, then every error is mapped and each status is its own event', () => {
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      statuses: [
        { id: 'wamid.O1', status: 'delivered', timestamp: '1750000000', recipient_id: '16505551234' },
        {
          id: 'wamid.O2', status: 'failed', timestamp: '1750000001', recipient_id: '16505551234',
          errors: [
            { code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'More than 24 hours have passed.' } },
            { code: '131026', title: 'Message undeliverable' },
            { title: 'no code at all' },
          ],
        },
      ],
    })]));
    const statuses = parsed.events.filter((e): e is StatusEvent => e.kind === 'status');
    assert.deepEqual(statuses.map((s) => [s.externalId, s.status, s.timestamp]), [['wamid.O1', 'delivered', 1750000000000], ['wamid.O2', 'failed', 1750000001000]]);
    assert.deepEqual(statuses[1]?.errors, [
      { code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', details: 'More than 24 hours have passed.' },
      { code: 131026, title: 'Message undeliverable' },
      { code: 0, title: 'no code at all' },
    ]);
  });

  test('when value.errors reports a system-level error, then it is one oddity per error', () => {
    const parsed = parseWhatsAppDelivery(body([messagesChange({
      errors: [
        { code: 130429, title: 'Rate limit hit', message: '(#130429) Rate limit hit', error_data: { details: 'Cloud API message throughput has been reached.' } },
        { code: 131000, title: 'Something went wrong' },
      ],
    })]));
    assert.deepEqual(parsed.events, []);
    assert.deepEqual(parsed.oddities, [
      { businessId: PHONE_NUMBER_ID, reason: 'entry waba-0, change #1: WhatsApp error 130429: Rate limit hit — Cloud API message throughput has been reached' },
      { businessId: PHONE_NUMBER_ID, reason: 'entry waba-0, change #1: WhatsApp error 131000: Something went wrong' },
    ]);
  });

  test('when a flow reply has no readable answers, then the body is shown; when its JSON is broken, the raw string is kept', () => {
    const nfm = (id: string, json: string): Json => ({
      from: '16505551234', id, timestamp: '1750000000', type: 'interactive', context: { from: '15550783881', id: 'wamid.FLOW' },
      interactive: { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: json } },
    });
    const [onlyToken, broken] = messages(parseWhatsAppDelivery(body([messagesChange({ messages: [nfm('wamid.N1', '{"flow_token":"t"}'), nfm('wamid.N2', '{not json')] })])));
    assert.equal(onlyToken?.text, 'Sent');
    assert.equal(broken?.text, 'Sent');
    assert.deepEqual(broken?.attributes.interactive, { type: 'nfm_reply', name: 'flow', response: '{not json' });
  });

  test('location and contacts leave out the parts Meta did not send', () => {
    const msg = (id: string, type: string, payload: unknown): Json => ({ from: '16505551234', id, timestamp: '1750000000', type, [type]: payload });
    const [pin, card] = messages(parseWhatsAppDelivery(body([messagesChange({
      messages: [
        msg('wamid.L', 'location', { latitude: 52.52, longitude: 13.405 }),
        msg('wamid.C', 'contacts', [
          { name: { first_name: 'Ann' }, phones: [{ wa_id: '4915112345678' }], emails: [{ email: 'ann@example.com' }] },
          { name: { formatted_name: 'Bob' }, phones: [{ phone: '+1 555 0100' }, { phone: '+1 555 0101' }] },
        ]),
      ],
    })])));
    assert.equal(pin?.text, '📍 https://maps.google.com/?q=52.52,13.405');
    assert.deepEqual(pin?.attributes.location, { latitude: 52.52, longitude: 13.405 });
    assert.equal(card?.text, '👤 Ann\n📞 4915112345678\n✉️ ann@example.com\n\n👤 Bob\n📞 +1 555 0100\n📞 +1 555 0101');
  });

  test('a change for another webhook field (echoes, templates, account) is an oddity, never a crash', () => {
    const parsed = parseWhatsAppDelivery(body([
      { field: 'smb_message_echoes', value: value({ message_echoes: [{ from: '15550783881', to: '16505551234', id: 'wamid.ECHO', timestamp: '1750000000', type: 'text', text: { body: 'hi' } }] }) },
      { field: 'message_template_status_update', value: null },
    ]));
    assert.deepEqual(parsed.events, []);
    assert.deepEqual(parsed.oddities.map((o) => o.reason), [
      'entry waba-0, change #1: "smb_message_echoes" webhook (no event) is not a conversation event',
      'entry waba-0, change #2: template "?" is now no event',
    ]);
    assert.equal(parsed.oddities[0]?.businessId, PHONE_NUMBER_ID);
  });

  test('no damage to any real payload makes the parser throw or lose an item silently', () => {
    const files = readdirSync(META_DIR).filter((f) => /^whatsapp-webhook-.*\.json$/.test(f));
    const replacements: unknown[] = [null, 42, 'x', [], {}];
    let runs = 0;
    for (const file of files) {
      const original = load(META_DIR, file);
      for (const target of paths(original)) {
        for (const replacement of replacements) {
          const damaged = setAt(structuredClone(original), target, replacement);
          const parsed = parseWhatsAppDelivery(damaged);
          runs += 1;
          assert.ok(parsed.events.length + parsed.oddities.length >= 1, `${file} with ${target.join('.')} = ${JSON.stringify(replacement)} produced nothing`);
        }
      }
    }
    assert.ok(runs > 1000, `only ${runs} damaged payloads tried`);
  });
});

/** Every path into a JSON value (objects and arrays), the root excluded. */
function paths(node: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof node !== 'object' || node === null) return [];
  const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  return keys.flatMap((key) => {
    const child = (node as Record<string | number, unknown>)[key];
    return [[...prefix, key], ...paths(child, [...prefix, key])];
  });
}

function setAt(root: unknown, target: Array<string | number>, replacement: unknown): unknown {
  let node = root as Record<string | number, unknown>;
  for (const key of target.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[target[target.length - 1] as string | number] = replacement;
  return root;
}
