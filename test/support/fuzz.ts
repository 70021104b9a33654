/**
 * Property-based fuzzing helpers (fast-check): the real payloads we know (Meta's and Chatwoot's documented
 * examples in ../shared/reference, our WhatsApp fixtures, valid platform requests), and mutations of them —
 * deleted keys, wrong types, huge strings, deep nesting, odd unicode, prototype-pollution keys — as JSON text,
 * the way an edge receives it. Runs are deterministic: a fixed seed (FUZZ_SEED overrides it), printed by
 * fast-check on failure together with the counterexample and its replay path.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { asMessagingDelivery, parseJsonc } from './jsonc';

export const REFERENCE = path.resolve(__dirname, '../../../shared/reference');
const WA_FIXTURES = path.resolve(__dirname, '../fixtures/whatsapp');
/** Fixed, so a fuzz run is the same every time. */
const FUZZ_PAGE = { pageId: '1063015210542', time: 1750000000000 };

/** fast-check settings every fuzzer uses: fixed seed, N runs, no shrinking past a time budget. */
export function fuzzParams(numRuns: number, seed = Number(process.env.FUZZ_SEED ?? 0x5eed_2026)): fc.Parameters<unknown> {
  return { numRuns, seed, endOnFailure: false, interruptAfterTimeLimit: 120_000, markInterruptAsFailure: true };
}

/** The JSON files of a folder; a verbatim documentation example that is not JSON even with comments is left out. */
function readDir(dir: string, pattern: RegExp): unknown[] {
  return readdirSync(dir).filter((f) => pattern.test(f)).sort().flatMap((f) => {
    try {
      return [parseJsonc(readFileSync(path.join(dir, f), 'utf8'))];
    } catch {
      return [];
    }
  });
}

/** Every WhatsApp, Messenger and Instagram webhook body we have. */
export function metaCorpus(): Record<'whatsapp' | 'messenger' | 'instagram', unknown[]> {
  const meta = path.join(REFERENCE, 'meta');
  return {
    whatsapp: [...readDir(meta, /^whatsapp-webhook-.*\.jsonc?$/), ...readDir(WA_FIXTURES, /\.json$/)],
    messenger: readDir(meta, /^messenger-webhook-.*\.jsonc?$/).map((b) => asMessagingDelivery(b as Record<string, unknown>, 'page', FUZZ_PAGE)),
    instagram: readDir(meta, /^instagram-webhook-.*\.jsonc?$/).map((b) => asMessagingDelivery(b as Record<string, unknown>, 'instagram', FUZZ_PAGE)),
  };
}

/** Chatwoot's webhook payloads (documented and built from its serializers). */
export function chatwootCorpus(): unknown[] {
  return readDir(path.join(REFERENCE, 'chatwoot'), /^(synth-|docs-).*\.jsonc?$/);
}

/** Valid POST /platform/v1/messages bodies, each field of the contract used somewhere. */
export function platformRequestCorpus(conversationId: string): unknown[] {
  return [
    { message_id: 'dsk-1', conversation_id: conversationId, text: 'Your order **shipped**' },
    { message_id: 'dsk-2', customer: { id: '16505551234', phone: '+16505551234' }, text: 'hello' },
    { message_id: 'dsk-3', conversation_id: conversationId, text: 'the invoice', media: [{ url: 'https://crm.example/files/invoice.pdf', filename: 'invoice.pdf', mime_type: 'application/pdf' }] },
    { message_id: 'dsk-4', conversation_id: conversationId, media: [{ url: 'https://crm.example/a.ogg', kind: 'audio', voice: true }], reply_to: { meta_message_id: 'wamid.X' } },
    { message_id: 'dsk-5', conversation_id: conversationId, template: { name: 'order_update', language: 'en_US', parameters: ['1042', 'Tuesday'] } },
    { message_id: 'dsk-6', conversation_id: conversationId, template: { name: 'promo', language: 'pt_BR', components: [{ type: 'header', parameters: [{ type: 'image', image: { link: 'https://crm.example/p.jpg' } }] }] } },
    { message_id: 'dsk-7', conversation_id: conversationId, text: 'pick one', choices: [{ title: 'Yes', value: 'y' }, { title: 'No' }], reply_to: { message_id: 'dsk-1' } },
  ];
}

// ---- mutations ------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

/** Sets an own property even for "__proto__" (plain assignment would change the prototype instead). */
function setOwn(target: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

type Container = Record<string | number, Json>;
/** Where a value sits: its container and its key there. */
type Slot = [Container, string | number];

/** The slots of values inside v, breadth first, iteratively (v may be deep), at most `limit`, 50 per array. */
function slotsOf(v: Json, limit = 300): Slot[] {
  const out: Slot[] = [];
  const containers: Json[] = [v];
  for (let next = 0; next < containers.length && out.length < limit; next++) {
    const node = containers[next];
    if (node === null || typeof node !== 'object') continue;
    const keys: Array<string | number> = Array.isArray(node) ? Array.from({ length: Math.min(node.length, 50) }, (_, i) => i) : Object.keys(node);
    for (const k of keys) {
      if (out.length >= limit) break;
      out.push([node as Container, k]);
      const child = (node as Container)[k];
      if (child !== null && typeof child === 'object') containers.push(child);
    }
  }
  return out;
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

/** Strings that break naive code: huge runs of markup characters, control and bidi characters, lone surrogates. */
const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  // Any code points, and any UTF-16 units (lone surrogates included). Built from integers: fast-check's own
  // full-unicode string units cost seconds of set-up per process.
  { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 20 }).map((cps) => String.fromCodePoint(...cps)) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units)) },
  { weight: 4, arbitrary: fc.constantFrom('', ' ', '\u0000', '\uD800', '\uDFFF\uD800', '\u202E\u2066', '🙂👍🏽‍', 'ﷺ', '%', '%E0%A4%A', '\\', '"', '\n\r\t',
    '16505551234', '+1 650 555 1234', 'NaN', 'Infinity', '-0', '1e309', '0x1f', 'true', 'null', '[object Object]',
    'http://169.254.169.254/latest/meta-data/', 'javascript:alert(1)', 'file:///etc/passwd', '../../etc/passwd', '${7*7}', '<script>') },
  // Long runs (1 in 10), 1 KB to 64 KB: what makes recursive or quadratic readers of text fall over (20,000 ">"
  // overflowed the stack of the old markdown reader).
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('>', '[', ']', '*', '_', '~', '`', '\\', '(', '{', 'a', '🙂', '[a](', '> ', '* ', '# ', '1. '), fc.integer({ min: 10, max: 16 }).map((bits) => 2 ** bits))
        .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length))) },
);

const scalar: fc.Arbitrary<Json> = fc.oneof(
  nastyString,
  fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e308, -1e-308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER),
  fc.boolean(), fc.constant(null),
);

const smallScalar: fc.Arbitrary<Json> = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));

/** A value of any shape to put where something else was. */
const replacement: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.constantFrom<Json>([], {}, [null], [[]], { '': '' }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 200 }), scalar, fc.boolean()).map(([d, leaf, arr]) => nested(d, leaf, arr)) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS).chain((k) => scalar.map((v) => { const o: Record<string, Json> = {}; setOwn(o, k, { polluted: v }); return o as Json; })) },
  { weight: 1, arbitrary: fc.tuple(smallScalar, fc.integer({ min: 50, max: 500 })).map(([v, n]) => new Array<Json>(n).fill(v)) },
);

type Mutation =
  | { op: 'retext'; at: number; value: string }
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; value: Json }
  | { op: 'addKey'; at: number; key: string; value: Json }
  | { op: 'duplicate'; at: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Text where text was: what a customer or agent can type reaches renderers and template readers this way.
  fc.record({ op: fc.constant('retext' as const), at: fc.nat(), value: nastyString }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: replacement }),
  fc.record({ op: fc.constant('addKey' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 12 })), value: replacement }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), times: fc.integer({ min: 2, max: 40 }) }),
);

/** Keys of fields people write in: most text mutations go there, where renderers and command readers look. */
const TYPED_TEXT = /^(content|text|body|caption|title|name|description|payload|value|emoji|filename)$/i;

/** Replaces one of the string values with the given text: 7 times in 10 one that people write. */
function retext(root: Json, at: number, value: string): Json {
  const strings = slotsOf(root).filter(([c, k]) => typeof c[k] === 'string');
  const typed = strings.filter(([, k]) => TYPED_TEXT.test(String(k)));
  const others = strings.filter(([, k]) => !TYPED_TEXT.test(String(k)));
  const pool = typed.length > 0 && (at % 10 < 7 || others.length === 0) ? typed : others;
  if (pool.length === 0) return root;
  const [container, key] = pool[Math.floor(at / 10) % pool.length]!;
  container[key] = value;
  return root;
}

function apply(root: Json, given: Mutation): Json {
  if (given.op === 'retext') return retext(root, given.at, given.value);
  // Generated values may be shared (constants, and fast-check may reuse a value): each gets its own copy, or a
  // later mutation would change it for every case after, or even make a cycle.
  const m = 'value' in given ? { ...given, value: structuredClone(given.value) } : given;
  const slots = slotsOf(root);
  const pick = m.at % (slots.length + 1);
  if (pick === slots.length) {
    // The root itself.
    if (m.op === 'replace') return m.value;
    if (m.op === 'addKey' && root && typeof root === 'object' && !Array.isArray(root)) setOwn(root, m.key, m.value);
    return root;
  }
  const [parent, key] = slots[pick]!;
  const target = parent[key]!;
  switch (m.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'replace':
      if (Array.isArray(parent)) parent[key as number] = m.value;
      else setOwn(parent as Record<string, Json>, String(key), m.value);
      break;
    case 'addKey':
      if (target && typeof target === 'object' && !Array.isArray(target)) setOwn(target, m.key, m.value);
      else if (Array.isArray(target)) target.push(m.value);
      break;
    case 'duplicate':
      // Many copies of one item (the same object each time: Meta batches up to 1,000 changes per delivery).
      if (Array.isArray(target) && target.length > 0) target.push(...new Array<Json>(m.times).fill(target[0]!));
      else if (Array.isArray(parent)) parent.push(...new Array<Json>(Math.min(m.times, 50)).fill(target));
      break;
  }
  return root;
}

/** Texts stay under this (a mutation of a mutation can multiply sizes); a bigger result falls back to the base. */
const MAX_TEXT = 200_000;

function mutate(base: unknown, ms: readonly Mutation[]): string {
  const text = JSON.stringify(ms.reduce<Json>((v, m) => apply(v, m), structuredClone(base) as Json));
  return text.length <= MAX_TEXT ? text : JSON.stringify(base);
}

/** A corpus member, mutated 0–6 times, as JSON text; now and then not the corpus at all but any JSON. */
export function mutatedJson(corpus: readonly unknown[]): fc.Arbitrary<string> {
  const mutated = fc.tuple(fc.constantFrom(...corpus), fc.array(mutation, { maxLength: 6 }))
    .map(([base, ms]) => mutate(base, ms));
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: replacement.map((v) => JSON.stringify(v)) },
  );
}

/**
 * Bytes as an edge may get them: valid JSON text (from `json`), or that text broken — cut short, a byte
 * flipped, invalid UTF-8, a byte-order mark, nesting past any limit, nothing at all.
 */
export function mutatedBytes(json: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 10, arbitrary: json.map((t) => Buffer.from(t, 'utf8')) },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([t, n]) => Buffer.from(t, 'utf8').subarray(0, n % (t.length + 1))) },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([t, at, byte]) => { const b = Buffer.from(t, 'utf8'); if (b.length > 0) b[at % b.length] = byte; return b; }) },
    { weight: 1, arbitrary: json.map((t) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(t, 'utf8')])) },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"a":"\xc3\x28"}', 'latin1'), Buffer.alloc(0), Buffer.from('   ')) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 65, max: 20_000 }), fc.boolean()).map(([d, arr]) => Buffer.from(arr ? `${'['.repeat(d)}${']'.repeat(d)}` : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`)) },
  );
}
