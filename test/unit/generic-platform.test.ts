/**
 * The generic platform adapter's pure parts and its HTTP client, without Redis or MongoDB: the signature, the
 * event shapes and their ids, the reply request, media links, the registry, and how platform answers map to
 * retryable and permanent errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bridgeSignatureHeader } from '../../src/platforms/generic/signature';
import { eventId, inboundEvent, statusEvent, contactEvent, type BridgeEvent } from '../../src/platforms/generic/events';
import { mediaKindOf, replyCommand, validateReplyRequest, type ReplyRequest } from '../../src/platforms/generic/request';
import { conversationKey } from '../../src/platforms/generic';
import { MediaLinks } from '../../src/platforms/generic/media-links';
import { GenericPlatformClient } from '../../src/platforms/generic/client';
import { PlatformRegistry, type AnyPlatform } from '../../src/platforms/registry';
import { Sealer } from '../../src/queue/sealed';
import { KeyRing } from '../../src/crypto/keyring';
import { PermanentError, RetryableError } from '../../src/core/errors';
import type { InboundMessageEvent, ReactionEvent } from '../../src/core/events';
import type { InboundDelivery } from '../../src/platforms/platform';
import type { ConnectionRecord } from '../../src/store/connections';
import { verifyBridgeSignature } from '../fakes/generic-platform';
import { contractSchemas, eventSchemaNames } from '../support/openapi';

const ctx = { connectionId: 'con_unit', channel: 'whatsapp' as const, conversationId: 'cnv_0123456789abcdefghijkl' };
const customer = { id: '16505551234', phone: '16505551234', name: 'Sheena' };
const mint = (ref: { kind: string }) => ({ url: `https://bridge.example/platform/v1/media/tok-${ref.kind}`, expiresAt: new Date(1_750_000_900_000) });

function message(over: Partial<InboundMessageEvent> = {}): InboundMessageEvent {
  return {
    kind: 'message', channel: 'whatsapp', businessId: '106540352242922', externalId: 'wamid.A', timestamp: 1_750_000_000_000,
    customer, text: 'hello', attachments: [], originalType: 'text', attributes: {}, ...over,
  };
}

function delivery(event: InboundMessageEvent | ReactionEvent, over: Partial<InboundDelivery> = {}): InboundDelivery {
  return { event, files: [], notes: [], mayAlreadyExist: false, ...over };
}

const keyRing = () => KeyRing.fromList([randomBytes(32).toString('base64url') + '=']);

describe('generic platform: signature', () => {
  test('the header is t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")> over the exact bytes (vector computed with Python hmac)', () => {
    const raw = Buffer.from('{"id":"evt_x","text":"héllo"}', 'utf8');
    const header = bridgeSignatureHeader('whsec_unit-test-secret', 1_750_000_000, raw);
    assert.equal(header, 't=1750000000,v1=c4100ff770d7780ab7df6d81f310b74001f797c5140830662e748038774ce914');
    assert.equal(verifyBridgeSignature(raw, header, 'whsec_unit-test-secret', 300, 1_750_000_100), 'ok');
    assert.equal(verifyBridgeSignature(Buffer.from('{"id":"evt_x","text":"hello"}'), header, 'whsec_unit-test-secret', 300, 1_750_000_100), 'mismatch');
  });
});

describe('generic platform: the README verification snippet', () => {
  test('the snippet in README.md accepts what the bridge signs and refuses tampered or stale requests', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Generic platforms'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, 'a js block in the "Generic platforms" section');
    const verify = new Function('require', `${code}\nreturn verifyBridgeSignature;`)(require) as (raw: Buffer, header: string | undefined, secret: string) => boolean;
    const raw = Buffer.from(JSON.stringify(statusEvent(ctx, 'dsk-1', 'read', undefined, Date.now())));
    const t = Math.floor(Date.now() / 1000);
    const secret = 'whsec_readme-snippet';
    assert.equal(verify(raw, bridgeSignatureHeader(secret, t, raw), secret), true);
    assert.equal(verify(Buffer.concat([raw, Buffer.from(' ')]), bridgeSignatureHeader(secret, t, raw), secret), false, 'tampered body');
    assert.equal(verify(raw, bridgeSignatureHeader('another-secret', t, raw), secret), false, 'other secret');
    assert.equal(verify(raw, bridgeSignatureHeader(secret, t - 301, raw), secret), false, 'stale');
    assert.equal(verify(raw, undefined, secret), false, 'missing');
  });
});

describe('generic platform: events', () => {
  test('an event id depends on what the event is about, never on when it is sent', () => {
    assert.equal(eventId('con_a', 'message', 'wamid.1'), eventId('con_a', 'message', 'wamid.1'));
    assert.match(eventId('con_a', 'message', 'wamid.1'), /^evt_[A-Za-z0-9_-]{32}$/);
    const ids = new Set([eventId('con_a', 'message', 'wamid.1'), eventId('con_b', 'message', 'wamid.1'), eventId('con_a', 'reaction', 'wamid.1'), eventId('con_a', 'message', 'wamid.2')]);
    assert.equal(ids.size, 4);
    const first = statusEvent(ctx, 'dsk-1', 'read', undefined, 1);
    const later = statusEvent(ctx, 'dsk-1', 'read', undefined, 999_999);
    assert.equal(first.id, later.id);
    assert.notEqual(first.id, statusEvent(ctx, 'dsk-1', 'delivered', undefined, 1).id);
  });

  const cases: Array<{ name: string; delivery: InboundDelivery; check: (e: BridgeEvent) => void }> = [
    {
      name: 'a text message with a quoted agent reply',
      delivery: delivery(message({ replyTo: 'wamid.Q', forwarded: 'forwarded' }), { replyToPlatformMessageId: 'dsk-7' }),
      check: (e) => {
        assert.equal(e.type, 'message');
        assert.deepEqual(e.type === 'message' && e.data.reply_to, { meta_message_id: 'wamid.Q', message_id: 'dsk-7' });
        assert.equal(e.type === 'message' && e.data.forwarded, 'forwarded');
        assert.equal(e.occurred_at, '2025-06-15T15:06:40.000Z');
      },
    },
    {
      name: 'media become signed links, never bytes',
      delivery: delivery(message({ originalType: 'audio', text: '', attachments: [{ kind: 'audio', mediaId: '123', mimeType: 'audio/ogg', voice: true }] })),
      check: (e) => {
        assert.ok(e.type === 'message');
        assert.deepEqual(e.data.attachments, [{ kind: 'audio', url: 'https://bridge.example/platform/v1/media/tok-audio', url_expires_at: '2025-06-15T15:21:40.000Z', mime_type: 'audio/ogg', voice: true }]);
      },
    },
    {
      name: 'a WhatsApp edit becomes an edit event with the new text',
      delivery: delivery(message({ externalId: 'wamid.E', originalType: 'edit', text: '✏️ edited: Does it come in blue?', replyTo: 'wamid.O', attributes: { editOf: 'wamid.O' } })),
      check: (e) => {
        assert.equal(e.type, 'edit');
        assert.deepEqual(e.data, { meta_message_id: 'wamid.E', customer, target: { meta_message_id: 'wamid.O' }, text: 'Does it come in blue?' });
      },
    },
    {
      name: 'a revoke becomes a delete event',
      delivery: delivery(message({ externalId: 'wamid.R', originalType: 'revoke', text: '🗑️ The customer deleted a message', attributes: { revokes: 'wamid.O' } })),
      check: (e) => {
        assert.equal(e.type, 'delete');
        assert.deepEqual(e.data, { meta_message_id: 'wamid.R', customer, target: { meta_message_id: 'wamid.O' } });
      },
    },
    {
      name: 'a removed reaction has emoji null',
      delivery: delivery({ kind: 'reaction', channel: 'whatsapp', businessId: '1', externalId: 'wamid.X', timestamp: 1_750_000_000_000, customer, targetExternalId: 'wamid.T', emoji: null }),
      check: (e) => {
        assert.equal(e.type, 'reaction');
        assert.deepEqual(e.data, { meta_message_id: 'wamid.X', customer, target: { meta_message_id: 'wamid.T' }, emoji: null });
      },
    },
  ];
  const schemas = contractSchemas();
  const byType = eventSchemaNames();
  for (const c of cases) {
    test(`${c.name}; the event matches its documented schema`, () => {
      const e = inboundEvent(ctx, c.delivery, mint as never);
      c.check(e);
      assert.deepEqual(schemas.check(byType[e.type]!, e), []);
    });
  }

  test('a status carries the reason only when it failed; a contact event carries the profile', () => {
    const failed = statusEvent(ctx, 'dsk-1', 'failed', '131047: window closed', 1_750_000_000_000);
    assert.deepEqual(failed.data, { message_id: 'dsk-1', status: 'failed', reason: '131047: window closed' });
    assert.deepEqual(statusEvent(ctx, 'dsk-1', 'read', 'ignored', 1).data, { message_id: 'dsk-1', status: 'read' });
    const contact = contactEvent(ctx, { ...customer, bsuid: 'US.1' }, 1_750_000_000_000);
    assert.deepEqual(contact.data, { customer: { ...customer, bsuid: 'US.1' } });
    for (const e of [failed, contact]) assert.deepEqual(schemas.check(byType[e.type]!, e), []);
  });
});

describe('generic platform: reply requests', () => {
  const valid = (body: unknown): ReplyRequest => {
    const checked = validateReplyRequest(body);
    assert.ok('request' in checked, JSON.stringify(checked));
    return checked.request;
  };

  test('a full request becomes a ReplyCommand for the shared outbound pipeline', () => {
    const req = valid({
      message_id: 'dsk-1', conversation_id: 'cnv_x', customer: { id: '16505551234', phone: '+16505551234' },
      text: 'hi', media: [{ url: 'https://f.example/a.jpg' }], reply_to: { meta_message_id: 'wamid.Q' },
      choices: [{ title: 'Yes' }, { title: 'No', value: 'no' }],
    });
    assert.deepEqual(replyCommand(req, 'cnv_x', { id: '16505551234', phone: '16505551234' }, 42), {
      kind: 'reply', platformMessageId: 'dsk-1', platformConversationId: 'cnv_x', createdAt: 42,
      recipient: { id: '16505551234', phone: '16505551234' },
      reply: {
        content: 'hi', attachments: [{ kind: 'image', url: 'https://f.example/a.jpg' }], replyTo: { externalId: 'wamid.Q', platformMessageId: undefined },
        choices: [{ title: 'Yes', value: 'Yes' }, { title: 'No', value: 'no' }], template: undefined,
      },
    });
  });

  test('a template with parameters becomes body components', () => {
    const req = valid({ message_id: 'dsk-2', customer: { id: 'US.13491208655302741918' }, template: { name: 'order_update', language: 'en_US', parameters: ['Ana'] } });
    const cmd = replyCommand(req, 'cnv_y', { id: 'US.13491208655302741918' }, 1);
    assert.deepEqual(cmd.reply.template, { name: 'order_update', language: 'en_US', components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] });
    assert.equal(cmd.reply.content, null);
  });

  test('a conversation id is opaque, stable per customer and connection, and never the phone number', () => {
    const id = conversationKey('con_a', '16505551234');
    assert.match(id, /^cnv_[A-Za-z0-9_-]{22}$/);
    assert.equal(id, conversationKey('con_a', '16505551234'));
    assert.notEqual(id, conversationKey('con_b', '16505551234'));
    assert.doesNotMatch(id, /16505551234/);
  });

  test('what is wrong is named, all at once', () => {
    const checked = validateReplyRequest({ text: 7, template: { name: 'x', language: 'en', parameters: [], components: [] } });
    assert.ok('invalid' in checked);
    const all = checked.invalid.join(' | ');
    for (const expected of [/"message_id" is required/, /"text" must be a string/, /parameters, components/, /conversation_id, customer/]) assert.match(all, expected);
  });

  test('a media kind comes from the request, else the MIME type, else the extension, else document', () => {
    const table: Array<[Parameters<typeof mediaKindOf>[0], string]> = [
      [{ url: 'https://x/a.pdf', kind: 'image' }, 'image'],
      [{ url: 'https://x/a', mime_type: 'video/mp4' }, 'video'],
      [{ url: 'https://x/a', mime_type: 'image/webp' }, 'sticker'],
      [{ url: 'https://x/a', mime_type: 'application/zip' }, 'document'],
      [{ url: 'https://x/voice.OGG?sig=1' }, 'audio'],
      [{ url: 'https://x/file' }, 'document'],
    ];
    for (const [input, kind] of table) assert.equal(mediaKindOf(input), kind, JSON.stringify(input));
  });
});

describe('generic platform: media links', () => {
  test('a link opens to its connection and media reference until it expires; tampered or foreign links do not', () => {
    const links = new MediaLinks(new Sealer(keyRing()), 'https://bridge.example/', 60);
    const ref = { kind: 'image' as const, mediaId: '998877', mimeType: 'image/jpeg' };
    const { url, expiresAt } = links.mint('con_1', ref, 1_000_000);
    assert.match(url, /^https:\/\/bridge\.example\/platform\/v1\/media\/[A-Za-z0-9_=-]+$/);
    assert.equal(expiresAt.getTime(), 1_060_000);
    const token = url.split('/').pop()!;
    assert.deepEqual(links.open(token, 1_059_000), { ok: true, connectionId: 'con_1', ref });
    assert.deepEqual(links.open(token, 1_061_000), { ok: false, why: 'expired' });
    const flipped = `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
    assert.deepEqual(links.open(flipped, 1_000_000), { ok: false, why: 'invalid' });
    const other = new MediaLinks(new Sealer(keyRing()), 'https://bridge.example', 60);
    assert.deepEqual(other.open(token, 1_000_000), { ok: false, why: 'invalid' });
    assert.doesNotMatch(Buffer.from(token, 'base64url').toString('latin1'), /998877/, 'the reference is encrypted, not just signed');
  });
});

describe('platform registry', () => {
  const fake = (kind: 'chatwoot' | 'generic') => ({ kind, media: 'bytes' }) as unknown as AnyPlatform;
  test('two adapters claiming one kind, or a kind without an adapter, stop the start', () => {
    assert.throws(() => new PlatformRegistry([fake('chatwoot'), fake('chatwoot'), fake('generic')]), /"chatwoot" claimed by two adapters/);
    assert.throws(() => new PlatformRegistry([fake('chatwoot')]), /no platform adapter registered for generic/);
  });
  test('a connection gets the adapter of its kind', () => {
    const chatwoot = fake('chatwoot');
    const generic = fake('generic');
    const registry = new PlatformRegistry([chatwoot, generic]);
    assert.equal(registry.forConnection({ platform: { kind: 'generic' } } as ConnectionRecord), generic);
    assert.equal(registry.forConnection({ platform: { kind: 'chatwoot' } } as ConnectionRecord), chatwoot);
  });
});

describe('generic platform: client', () => {
  async function platform(answer: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void) {
    const seen: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => { const body = Buffer.concat(chunks); seen.push({ headers: req.headers, body }); answer(req, res, body); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events?token=do-not-log`;
    const conn = { id: 'con_c', channel: 'whatsapp', platform: { kind: 'generic', url, signingSecret: 'whsec_client-test', apiKeyHash: 'x' } } as unknown as ConnectionRecord<'generic'>;
    return { seen, conn, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
  }
  const event = statusEvent(ctx, 'dsk-1', 'delivered', undefined, 1_750_000_000_000);

  test('the request is signed over the bytes sent, with the idempotency key, schema version, event and connection', async () => {
    const p = await platform((_req, res) => res.writeHead(204).end());
    try {
      await new GenericPlatformClient({ timeoutMs: 2000, userAgent: 'unit', now: () => 1_750_000_000_000 }).send(p.conn, event);
      const [{ headers, body }] = p.seen as [{ headers: http.IncomingHttpHeaders; body: Buffer }];
      assert.deepEqual(JSON.parse(body.toString('utf8')), event);
      assert.equal(verifyBridgeSignature(body, String(headers['x-bridge-signature']), 'whsec_client-test', 300, 1_750_000_000), 'ok');
      assert.equal(headers['idempotency-key'], event.id);
      assert.equal(headers['x-bridge-schema-version'], '1');
      assert.equal(headers['x-bridge-event'], 'status');
      assert.equal(headers['x-bridge-connection'], 'con_c');
      assert.equal(headers['content-type'], 'application/json');
    } finally { await p.close(); }
  });

  const answers: Array<[string, (res: http.ServerResponse) => void, (err: unknown) => void]> = [
    ['500 → retryable', (res) => res.writeHead(500).end('boom'), (err) => { assert.ok(err instanceof RetryableError); assert.match(err.message, /500 boom/); }],
    ['429 with Retry-After → retryable, honouring it', (res) => res.writeHead(429, { 'retry-after': '7' }).end(), (err) => { assert.ok(err instanceof RetryableError); assert.equal(err.retryAfterMs, 7000); }],
    ['422 → permanent with the platform\'s words', (res) => res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"unknown segment"}'), (err) => { assert.ok(err instanceof PermanentError); assert.match(err.message, /422 \{"error":"unknown segment"\}/); }],
    ['301 → permanent (redirects are not followed)', (res) => res.writeHead(301, { location: 'http://elsewhere/' }).end(), (err) => { assert.ok(err instanceof PermanentError); assert.match(err.message, /redirect/); }],
    ['no answer in time → retryable', () => undefined, (err) => { assert.ok(err instanceof RetryableError); assert.match(err.message, /no answer within 200 ms/); }],
  ];
  for (const [name, answer, check] of answers) {
    test(`when the platform answers ${name}; the reason never shows the URL's query`, async () => {
      const p = await platform((_req, res) => answer(res));
      try {
        const err = await new GenericPlatformClient({ timeoutMs: 200, userAgent: 'unit' }).send(p.conn, event).then(() => undefined, (e: unknown) => e);
        check(err);
        assert.doesNotMatch((err as Error).message, /do-not-log/);
      } finally { await p.close(); }
    });
  }
});
