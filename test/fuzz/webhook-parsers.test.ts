// test-services: none (pure parsers, in process)
/**
 * Property-based fuzzing of every parser of untrusted input, in process: the WhatsApp, Messenger and Instagram
 * webhook parsers, the Chatwoot webhook parser and the generic platform's request parser, fed real payloads
 * (../shared/reference, test/fixtures) mutated every way test/support/fuzz.ts knows. Each parser must be total
 * (never throw) and account for everything: a Meta delivery yields events or oddities, never nothing; a platform
 * request yields work, an "ignored" reason or the list of what is invalid. What they produce must be sealable
 * (JSON), loggable (redact) and, for replies, plannable by every channel, where only a PermanentError (the
 * agent's reply cannot be sent, with a reason) may come out. Object.prototype must stay untouched.
 * 10,000 cases per parser, fixed seed (FUZZ_SEED to explore others).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWhatsAppDelivery } from '../../src/channels/whatsapp/webhook';
import { parseMessengerDelivery } from '../../src/channels/messenger/webhook';
import { parseInstagramDelivery } from '../../src/channels/instagram/webhook';
import { parseChatwootWebhook } from '../../src/platforms/chatwoot/webhook';
import { GenericPlatform, conversationKey } from '../../src/platforms/generic';
import { GraphClient } from '../../src/channels/meta/graph-client';
import { MediaDownloader } from '../../src/channels/meta/media';
import { WhatsAppSender } from '../../src/channels/whatsapp/sender';
import { SendApiSender } from '../../src/channels/meta/send-api-sender';
import { whatsappChannel } from '../../src/channels/whatsapp';
import { messengerChannel } from '../../src/channels/messenger';
import { instagramChannel } from '../../src/channels/instagram';
import { PermanentError } from '../../src/core/errors';
import { redact } from '../../src/log/redact';
import type { ParsedDelivery } from '../../src/core/events';
import type { OutboundCommand } from '../../src/core/outbound';
import type { ConnectionRecord } from '../../src/store/connections';
import type { ParsedPlatformRequest } from '../../src/platforms/platform';
import { chatwootCorpus, fuzzParams, metaCorpus, mutatedJson, platformRequestCorpus } from '../support/fuzz';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** CPU one case may take: a quadratic reading of a long text (seconds) fails here instead of passing slowly. */
const CASE_CPU_MS = 1_000;
const EVENT_KINDS = new Set(['message', 'reaction', 'status', 'echo', 'edit', 'unsend', 'watermark']);

// Built as the bridge builds them; nothing is sent anywhere.
const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:9', version: 'v26.0' });
const limits = { maxBytes: 1024, timeoutMs: 100 };
const media = new MediaDownloader(graph, limits);
const sendApi = new SendApiSender(limits);
const channels = [
  whatsappChannel(media, new WhatsAppSender(graph, limits)),
  messengerChannel({ media, sender: sendApi, facebook: graph }),
  instagramChannel({ media, sender: sendApi, facebook: graph, instagram: graph }),
];

const nonBlank = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

function prototypeUntouched(): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).filter((k) => !BASELINE_PROTO.includes(k)), [], 'Object.prototype gained properties');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
}
const BASELINE_PROTO = Object.getOwnPropertyNames(Object.prototype);

/** Sealed as a lane entry (JSON) and logged (redact) without trouble. */
function sealableAndLoggable(value: unknown): void {
  assert.equal(typeof JSON.stringify(value), 'string');
  redact(value);
}

function checkDelivery(parsed: ParsedDelivery, channel: string): void {
  assert.ok(parsed.events.length + parsed.oddities.length >= 1, 'a delivery must yield events or oddities, never nothing');
  for (const o of parsed.oddities) assert.ok(nonBlank(o.reason), 'an oddity has a reason');
  for (const e of parsed.events) {
    assert.equal(e.channel, channel);
    assert.ok(EVENT_KINDS.has(e.kind), `kind ${e.kind}`);
    assert.ok(nonBlank(e.businessId), 'routable: businessId');
    assert.ok(nonBlank(e.externalId), 'externalId');
    assert.ok(Number.isFinite(e.timestamp) && e.timestamp > 0 && e.timestamp <= 8.64e15, `timestamp ${e.timestamp} (a Date must hold it)`);
    const who = e.kind === 'status' ? e.recipient : e.customer;
    assert.ok(nonBlank(who.id), 'customer id');
    if (e.kind === 'message' || e.kind === 'echo') {
      assert.ok(Array.isArray(e.attachments));
      for (const a of e.attachments) assert.ok(nonBlank(a.kind) && (nonBlank(a.url) || nonBlank(a.mediaId)), 'an attachment says where it is');
      assert.ok(e.text === undefined || typeof e.text === 'string');
    }
  }
  sealableAndLoggable(parsed);
}

/** Every channel plans the command's reply, or refuses it with a PermanentError (a reason for the agent). */
function plannable(command: OutboundCommand): void {
  if (command.kind !== 'reply') return;
  for (const channel of channels) {
    try {
      const parts = channel.outbound.plan(command.reply, command.recipient, command.reply.replyTo?.externalId);
      assert.ok(Array.isArray(parts));
      JSON.stringify(parts);
    } catch (err) {
      if (!(err instanceof PermanentError)) throw err;
      assert.ok(nonBlank(err.message));
    }
  }
}

/**
 * Runs one case and fails it when it used more CPU than a case may. Timed by the clock first (cheap); a case that
 * took longer by the clock (a busy machine, a GC pause) runs again, timed by CPU, which decides.
 */
async function withinCpuBudget(work: () => unknown): Promise<void> {
  const started = performance.now();
  await work();
  if (performance.now() - started <= CASE_CPU_MS) return;
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms <= CASE_CPU_MS, `one case took ${Math.round(ms)} ms of CPU`);
}

/** A corpus document changed by hand: the distilled form of a case a fuzzer once failed on (kept as a regression). */
function edited(doc: unknown, change: (d: any) => void): string {
  const copy = structuredClone(doc);
  change(copy);
  return JSON.stringify(copy);
}

function checkPlatformRequest(parsed: ParsedPlatformRequest): void {
  if ('invalid' in parsed) {
    assert.ok(parsed.invalid.length > 0 && parsed.invalid.every(nonBlank), 'invalid names what is wrong');
    return;
  }
  if ('ignored' in parsed) {
    assert.ok(nonBlank(parsed.ignored));
    return;
  }
  assert.ok(nonBlank(parsed.commandId));
  const c = parsed.command;
  assert.ok(['reply', 'typing', 'conversation_resolved'].includes(c.kind));
  assert.ok(nonBlank(c.platformConversationId));
  if (c.kind !== 'typing') assert.ok(nonBlank(c.recipient.id), 'a recipient');
  if (c.kind === 'reply') {
    assert.ok(nonBlank(c.platformMessageId));
    assert.ok(c.reply.content === null || typeof c.reply.content === 'string');
    for (const a of c.reply.attachments) assert.ok(nonBlank(a.url) && nonBlank(a.kind));
  }
  sealableAndLoggable(parsed);
  plannable(c);
}

describe('fuzzing the webhook parsers (Meta)', () => {
  const corpus = metaCorpus();
  const all = [...corpus.whatsapp, ...corpus.messenger, ...corpus.instagram];
  const statusDoc = corpus.whatsapp.find((d) => JSON.stringify(d).includes('"statuses"'));
  const messagingDoc = corpus.messenger[0];
  // Regressions: a status at 5e-324 s became a 0 ms timestamp (seed 0x5eed2026); 1e300 s an Invalid Date.
  const timestamps = (value: number) => [
    edited(statusDoc, (d) => { d.entry[0].changes[0].value.statuses[0].timestamp = value; }),
    edited(messagingDoc, (d) => { d.entry[0].messaging[0].timestamp = value; d.entry[0].time = value; }),
  ];
  const regressions = [...timestamps(5e-324), ...timestamps(1e300), ...timestamps(0.4)];
  const cases = [
    ['WhatsApp', 'whatsapp', parseWhatsAppDelivery, [...corpus.whatsapp, ...corpus.whatsapp, ...all]],
    ['Messenger', 'messenger', parseMessengerDelivery, [...corpus.messenger, ...corpus.messenger, ...all]],
    ['Instagram', 'instagram', parseInstagramDelivery, [...corpus.instagram, ...corpus.instagram, ...all]],
  ] as const;
  for (const [name, channel, parse, bodies] of cases) {
    test(`when ${name} deliveries are mutated every way (${RUNS} cases), then the parser never throws and accounts for each`, async () => {
      assert.ok(bodies.length > 10, 'a corpus to mutate');
      await fc.assert(fc.asyncProperty(mutatedJson(bodies), (text) => withinCpuBudget(() => {
        checkDelivery(parse(JSON.parse(text) as unknown), channel);
        prototypeUntouched();
      })), fuzzParams(RUNS));
    });
  }

  test('when the deliveries a fuzzer once failed on come again, then they pass', async () => {
    for (const [, channel, parse] of cases) {
      for (const text of regressions) await withinCpuBudget(() => checkDelivery(parse(JSON.parse(text) as unknown), channel));
    }
  });
});

describe('fuzzing the platform request parsers', () => {
  test(`when Chatwoot webhooks are mutated every way (${RUNS} cases), then each is work, or ignored with a reason, and every channel can plan the reply`, async () => {
    const corpus = chatwootCorpus();
    assert.ok(corpus.length >= 8);
    const reply = corpus.find((d) => JSON.stringify(d).includes('"message_type":"outgoing"'));
    assert.ok(reply, 'an agent reply in the corpus');
    // Regressions (seed 0x5eed2026 found the first two): a phone number sent as a number, content as an object,
    // each threw in the parser (a 500 at the edge); a long run of ">" or nested links overflowed the stack while
    // the reply was turned into WhatsApp text, after seconds of quadratic work.
    const regressions = [
      edited(reply, (d) => { d.conversation.meta = { sender: { phone_number: 16505551234 } }; d.conversation.contact_inbox = {}; }),
      edited(reply, (d) => { d.content = { text: 'hi' }; }),
      edited(reply, (d) => { d.content = '>'.repeat(200_000); }),
      edited(reply, (d) => { d.content = `${'['.repeat(5_000)}x${'](http://a.example)'.repeat(5_000)}`; }),
      edited(reply, (d) => { d.content = '['.repeat(150_000); }),
    ];
    const check = (text: string) => withinCpuBudget(() => {
      const parsed = parseChatwootWebhook(JSON.parse(text) as unknown, 7);
      checkPlatformRequest('ignored' in parsed ? parsed : { command: parsed.command, commandId: parsed.deliveryKey });
      prototypeUntouched();
    });
    for (const text of regressions) await check(text);
    await fc.assert(fc.asyncProperty(mutatedJson(corpus), check), fuzzParams(RUNS));
  });

  test(`when POST /platform/v1/messages bodies are mutated every way (${RUNS} cases), then each is work or a list of what is invalid`, async () => {
    const conn = { id: 'con_fuzz', channel: 'whatsapp', businessId: '106540352242922', platform: { kind: 'generic', url: 'https://crm.example/events' } } as unknown as ConnectionRecord<'generic'>;
    const known = conversationKey(conn.id, '16505551234');
    // The adapter's memory, in memory: one conversation and its customer are known.
    const platform = new GenericPlatform({
      client: {} as never,
      mediaLinks: {} as never,
      links: { get: async () => null } as never,
      recipients: { recipientOf: async (_c: string, conversationId: string) => (conversationId === known ? { id: '16505551234', phone: '16505551234' } : null) } as never,
      now: () => 1_750_000_000_000,
    });
    await fc.assert(fc.asyncProperty(mutatedJson(platformRequestCorpus(known)), (text) => withinCpuBudget(async () => {
      checkPlatformRequest(await platform.parseRequest(conn, JSON.parse(text) as unknown));
      prototypeUntouched();
    })), fuzzParams(RUNS));
  });
});
