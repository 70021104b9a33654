import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hasLink, toWhatsAppText } from '../../src/channels/whatsapp/markdown';
import {
  CHOICE_PROMPT_FALLBACK, LIMITS, LIST_BUTTON_LABEL, MEDIA_UPLOAD_PLACEHOLDER, planWhatsAppSend, splitText, withMediaId,
  type AgentReply, type SendPart,
} from '../../src/channels/whatsapp/outbound';
import { TemplateSyntaxError, fromChatwootTemplateParams, fromPlainText, type TemplateRequest } from '../../src/channels/whatsapp/templates';
import { humanReason } from '../../src/channels/whatsapp/error-reasons';
import { PermanentError } from '../../src/core/errors';
import { validateSend } from '../fakes/graph/send-validation';

const REF = path.resolve(__dirname, '../../../shared/reference');
const WA_ID = '5215512345678';
const TO = { to: WA_ID };
const BSUID = 'US.13491208655302741918';
const WAMID = 'wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFjNFQjA5QkE2RTk0QzQxQzhBN0YxAA==';

function load(...parts: string[]): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REF, ...parts), 'utf8')) as Record<string, unknown>;
}

function reply(over: Partial<AgentReply>): AgentReply {
  return { content: null, attachments: [], ...over };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;
const arr = (v: unknown): Obj[] => v as Obj[];

/**
 * The limits Meta enforces on each send body (meta-api-notes §3.2), plus the envelope every body needs; and the
 * body, with an uploaded media id in place of the placeholder, must pass the Graph fake's send validation.
 */
function assertWithinMetaLimits(parts: SendPart[], label: string): void {
  parts.forEach((part, i) => {
    const b = part.body;
    const where = `${label}, part ${i} (${part.kind})`;
    assert.doesNotThrow(() => validateSend(part.media ? withMediaId(part, '1479537139650973') : b), where);
    assert.equal(part.index, i, `${where}: index`);
    assert.equal(b.messaging_product, 'whatsapp', where);
    assert.equal(b.recipient_type, 'individual', where);
    assert.ok(typeof b.to === 'string' || typeof b.recipient === 'string', `${where}: to or recipient`);
    assert.ok(!('to' in b && 'recipient' in b), `${where}: only one of to / recipient`);
    if (i > 0) assert.equal(b.context, undefined, `${where}: context on the first part only`);
    const type = b.type as string;
    const payload = obj(b[type]);
    assert.ok(payload, `${where}: payload under its type`);
    switch (type) {
      case 'text':
        assert.ok((payload.body as string).length > 0 && (payload.body as string).length <= LIMITS.text, `${where}: text length`);
        break;
      case 'image': case 'video': case 'document': case 'audio': case 'sticker':
        assert.ok(part.media?.url, `${where}: media to upload`);
        assert.equal(payload.id, MEDIA_UPLOAD_PLACEHOLDER, `${where}: upload placeholder`);
        if (type === 'audio' || type === 'sticker') assert.equal(payload.caption, undefined, `${where}: no caption on ${type}`);
        if (payload.caption !== undefined) assert.ok((payload.caption as string).length <= LIMITS.caption, `${where}: caption length`);
        if (type !== 'document') assert.equal(payload.filename, undefined, `${where}: filename is for documents`);
        if (type !== 'audio') assert.equal(payload.voice, undefined, `${where}: voice is for audio`);
        break;
      case 'interactive': {
        const body = (obj(payload.body).text as string);
        const action = obj(payload.action);
        if (payload.type === 'button') {
          assert.ok(body.length > 0 && body.length <= LIMITS.buttonBody, `${where}: button body length ${body.length}`);
          const buttons = arr(action.buttons).map((btn) => obj(btn.reply));
          assert.ok(buttons.length >= 1 && buttons.length <= LIMITS.buttons, `${where}: 1–3 buttons`);
          for (const btn of buttons) {
            assert.ok((btn.title as string).length >= 1 && (btn.title as string).length <= LIMITS.buttonTitle, `${where}: title "${btn.title}"`);
            assert.ok((btn.id as string).length >= 1 && (btn.id as string).length <= LIMITS.buttonId, `${where}: id length`);
          }
          assert.equal(new Set(buttons.map((btn) => btn.title)).size, buttons.length, `${where}: unique titles`);
          assert.equal(new Set(buttons.map((btn) => btn.id)).size, buttons.length, `${where}: unique ids`);
        } else {
          assert.equal(payload.type, 'list', where);
          assert.ok(body.length > 0 && body.length <= LIMITS.listBody, `${where}: list body length`);
          assert.ok((action.button as string).length <= LIMITS.listButton, `${where}: list button label`);
          const rows = arr(action.sections).flatMap((s) => arr(s.rows));
          assert.ok(rows.length >= 1 && rows.length <= LIMITS.listRows, `${where}: ≤10 rows`);
          for (const row of rows) {
            assert.ok((row.title as string).length <= LIMITS.rowTitle, `${where}: row title "${row.title}"`);
            assert.ok(row.description === undefined || (row.description as string).length <= LIMITS.rowDescription, `${where}: row description`);
            assert.ok((row.id as string).length <= LIMITS.rowId, `${where}: row id`);
          }
          assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, `${where}: unique row ids`);
        }
        break;
      }
      case 'template':
        assert.match(payload.name as string, /^[a-z0-9_]{1,512}$/, where);
        assert.match(obj(payload.language).code as string, /^[a-z]{2,3}(_[A-Z]{2})?$/, where);
        break;
      default:
        assert.fail(`${where}: unexpected type ${type}`);
    }
  });
}

function plan(r: AgentReply, to: { to?: string; recipient?: string } = TO, label = 'plan'): SendPart[] {
  const parts = planWhatsAppSend(r, to);
  assertWithinMetaLimits(parts, label);
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------

describe('markdown → WhatsApp', () => {
  const cases: Array<[string, string, string]> = [
    ['bold **', '**Order** shipped', '*Order* shipped'],
    ['bold __', 'it is __done__ now', 'it is *done* now'],
    ['italic *', 'an *important* note', 'an _important_ note'],
    ['italic _', 'an _important_ note', 'an _important_ note'],
    ['bold italic', '***both***', '*_both_*'],
    ['italic around bold', '*see **this** too*', '_see *this* too_'],
    ['strike', '~~old price~~ new price', '~old price~ new price'],
    ['inline code', 'run `npm ci` first', 'run `npm ci` first'],
    ['inline code keeps markdown inside', 'type `**not bold**`', 'type `**not bold**`'],
    ['triple-backtick span stays monospace', '```printf```', '```printf```'],
    ['fenced block', 'before\n```js\nconst a = b*c*d;\nlet x_y_z = 1;\n```\nafter', 'before\n```const a = b*c*d;\nlet x_y_z = 1;```\nafter'],
    ['tilde fence', '~~~\n**raw**\n~~~', '```**raw**```'],
    ['link', 'see [our site](https://acme.test/help)', 'see our site (https://acme.test/help)'],
    ['link whose text is the url', '[https://acme.test](https://acme.test)', 'https://acme.test'],
    ['link with title and parentheses', '[wiki](https://en.wikipedia.org/wiki/Foo_(bar) "Foo")', 'wiki (https://en.wikipedia.org/wiki/Foo_(bar))'],
    ['bold link text', '**[Track it](https://acme.test/t?id=1_2)**', '*Track it (https://acme.test/t?id=1_2)*'],
    ['image', '![receipt](https://acme.test/r.png)', 'receipt (https://acme.test/r.png)'],
    ['autolink', '<https://acme.test/a_b_c>', 'https://acme.test/a_b_c'],
    ['mailto link', '[help@acme.test](mailto:help@acme.test)', 'help@acme.test'],
    ['heading', '# Your order', '*Your order*'],
    ['heading level 3 with bold inside', '### Step **one** ###', '*Step one*'],
    ['bullets', '- apples\n* pears\n+ plums', '• apples\n• pears\n• plums'],
    ['nested bullets keep their indent', '- a\n  - b', '• a\n  • b'],
    ['bullet with emphasis', '* *fresh* fruit', '• _fresh_ fruit'],
    ['numbered list kept', '1. first\n2. second\n10) tenth', '1. first\n2. second\n10) tenth'],
    ['quote', '> **Note:** read this', '> *Note:* read this'],
    ['quoted list', '> - item', '> • item'],
    ['escapes unescaped', 'price \\*not\\* bold, 1\\. no list, \\# no heading', 'price *not* bold, 1. no list, # no heading'],
    ['escaped line start is not a list', '\\- dash\n\\> angle', '- dash\n> angle'],
    ['escaped underscore in a word (editor output)', 'my\\_var\\_name', 'my_var_name'],
    ['escaped underscores in a bare URL (editor output)', 'see https://acme.test/my\\_file\\_v2.pdf', 'see https://acme.test/my_file_v2.pdf'],
    ['escaped underscores in a link target', '[file](https://acme.test/a\\_b)', 'file (https://acme.test/a_b)'],
    ['escaped underscore in an email', 'john\\_doe@acme.test', 'john_doe@acme.test'],
    ['hard-break backslash removed', 'line one\\\nline two', 'line one\nline two'],
    ['trailing double space removed', 'line one  \nline two', 'line one\nline two'],
    ['escaped backslash at line end is kept', 'path C:\\\\', 'path C:\\'],
    ['paragraphs and trailing newlines', 'one\n\ntwo\n\n\n', 'one\n\ntwo'],
    ['CRLF', 'a\r\nb', 'a\nb'],
    ['thematic break is not a bullet', 'a\n\n* * *\n\nb', 'a\n\n* * *\n\nb'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(toWhatsAppText(input), expected));
  }

  const mustNotMangle: Array<[string, string]> = [
    ['URL with underscores', 'see https://acme.test/my_file_name_v2.pdf please'],
    ['URL with asterisks and underscores', 'https://acme.test/*/a_b_*c*_d'],
    ['URL with balanced parentheses', 'https://en.wikipedia.org/wiki/Snake_case_(programming)'],
    ['www URL', 'go to www.acme.test/some_page_here now'],
    ['URL followed by period', 'Visit https://acme.test/a_b_.'],
    ['snake_case words', 'set max_retry_count and __init__py'],
    ['two snake_case words in a sentence', 'use user_id or order_id here'],
    ['email with underscores', 'write to john_doe_jr@acme-corp.test today'],
    ['two emails', 'a_b@x.test and c_d@y.test'],
    ['arithmetic asterisks', '2 * 3 * 4 = 24'],
    ['glob asterisks', 'files *.txt and *.md'],
    ['intraword asterisks', 'a*b*c and x**y**z'],
    ['intraword underscores', 'file_name_here.txt'],
    ['lone markers', 'rate: 5 * stars _ and ~ here'],
    ['numbers with underscores', '1_000_000 units'],
    ['hashtag mid-line', 'issue #42 is # not a heading'],
    ['emoji and non-Latin', 'Olá 👋 — 注文です ok, niño_pequeño'],
  ];
  for (const [name, input] of mustNotMangle) {
    test(`does not mangle: ${name}`, () => assert.equal(toWhatsAppText(input), input));
  }

  test('underscore emphasis next to a URL still works', () => {
    assert.equal(toWhatsAppText('_see https://acme.test/a_b_'), '_see https://acme.test/a_b_');
    assert.equal(toWhatsAppText('**Pay at https://pay.acme.test/x_y**'), '*Pay at https://pay.acme.test/x_y*');
  });

  const links: Array<[string, boolean]> = [
    ['see https://acme.test', true],
    ['HTTP://ACME.TEST/x', true],
    ['http://localhost:3000/a', true],
    ['plain text', false],
    ['www.acme.test without scheme', false],
    ['not a link: https://', false],
    ['ftp://acme.test', false],
    ['xhttps://acme.test', false],
  ];
  for (const [text, expected] of links) {
    test(`hasLink(${JSON.stringify(text)}) = ${expected}`, () => assert.equal(hasLink(text), expected));
  }
});

// ---------------------------------------------------------------------------------------------------------------

describe('planWhatsAppSend: text, attachments, threading', () => {
  const image = { kind: 'image' as const, url: 'https://chat.acme.test/blobs/receipt.jpg', mimeType: 'image/jpeg' };
  const pdf = { kind: 'document' as const, url: 'https://chat.acme.test/blobs/x', filename: 'invoice_2026.pdf', mimeType: 'application/pdf' };
  const voice = { kind: 'audio' as const, url: 'https://chat.acme.test/blobs/note.ogg', mimeType: 'audio/ogg; codecs=opus', voice: true };
  const mp3 = { kind: 'audio' as const, url: 'https://chat.acme.test/blobs/song.mp3', mimeType: 'audio/mpeg', voice: true };
  const sticker = { kind: 'sticker' as const, url: 'https://chat.acme.test/blobs/s.webp', mimeType: 'image/webp' };
  const video = { kind: 'video' as const, url: 'https://chat.acme.test/blobs/v.mp4' };

  test('text only: one text part, markdown converted, no preview without a link', () => {
    const parts = plan(reply({ content: 'Hi **Maria**!' }));
    assert.deepEqual(parts, [{
      index: 0, kind: 'text',
      body: { messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${WA_ID}`, type: 'text', text: { body: 'Hi *Maria*!' } },
    }]);
  });

  test('text with a link asks for a preview (shape of Meta\'s preview_url example)', () => {
    const spec = load('meta', 'whatsapp-send-spec-text-message-with-preview-url.json');
    const [part] = plan(reply({ content: 'Please visit https://youtu.be/hpltvTEiRrY.' }));
    assert.deepEqual(part?.body.text, spec.text);
  });

  test('text + 3 attachments + reply-to: caption on the first, every attachment once, context on the first only', () => {
    const parts = plan(reply({ content: 'Here is _everything_', attachments: [image, pdf, voice], replyToExternalId: WAMID }));
    assert.deepEqual(parts.map((p) => p.kind), ['image', 'document', 'audio']);
    assert.deepEqual(parts[0]?.body.context, { message_id: WAMID });
    assert.deepEqual(parts[0]?.body.image, { id: MEDIA_UPLOAD_PLACEHOLDER, caption: 'Here is _everything_' });
    assert.deepEqual(parts[1]?.body.document, { id: MEDIA_UPLOAD_PLACEHOLDER, filename: 'invoice_2026.pdf' });
    assert.deepEqual(parts[2]?.body.audio, { id: MEDIA_UPLOAD_PLACEHOLDER, voice: true });
    assert.deepEqual(parts.map((p) => p.media?.url), [image.url, pdf.url, voice.url]);
    assert.deepEqual(parts[1]?.media, { url: pdf.url, filename: 'invoice_2026.pdf', mimeType: 'application/pdf' });
    // The envelope is the one in Meta's reply-to-image example.
    const spec = load('meta', 'whatsapp-send-spec-reply-to-image-message-by-id.json');
    assert.deepEqual(Object.keys(parts[0]?.body ?? {}).sort(), Object.keys(spec).sort());
  });

  const captionCases: Array<{ name: string; r: Partial<AgentReply>; kinds: string[]; caption?: string }> = [
    { name: 'video takes the caption', r: { content: 'watch', attachments: [video] }, kinds: ['video'], caption: 'watch' },
    { name: 'document takes the caption', r: { content: 'signed', attachments: [pdf] }, kinds: ['document'], caption: 'signed' },
    { name: 'audio takes no caption: text first', r: { content: 'listen', attachments: [voice, image] }, kinds: ['text', 'audio', 'image'] },
    { name: 'sticker takes no caption: text first', r: { content: 'hi', attachments: [sticker] }, kinds: ['text', 'sticker'] },
    { name: 'caption of exactly 1024 fits', r: { content: 'c'.repeat(1024), attachments: [image] }, kinds: ['image'], caption: 'c'.repeat(1024) },
    { name: 'caption over 1024: text first', r: { content: 'c'.repeat(1025), attachments: [image, pdf] }, kinds: ['text', 'image', 'document'] },
    { name: 'attachments without text', r: { content: null, attachments: [image, video] }, kinds: ['image', 'video'] },
    { name: 'whitespace-only content counts as none', r: { content: ' \n ', attachments: [image] }, kinds: ['image'] },
  ];
  for (const c of captionCases) {
    test(`caption rule: ${c.name}`, () => {
      const parts = plan(reply({ ...c.r, replyToExternalId: WAMID }));
      assert.deepEqual(parts.map((p) => p.kind), c.kinds);
      assert.deepEqual(parts[0]?.body.context, { message_id: WAMID });
      const first = obj(parts[0]?.body[parts[0].kind]);
      if (c.caption !== undefined) assert.equal(first.caption, c.caption);
      else assert.equal(parts.some((p) => obj(p.body[p.kind]).caption !== undefined), false);
      if (c.kinds[0] === 'text') assert.equal(first.body, toWhatsAppText(c.r.content ?? ''));
    });
  }

  test('voice: true only for audio/ogg voice notes', () => {
    const parts = plan(reply({ attachments: [voice, mp3, { ...voice, voice: false }] }));
    assert.deepEqual(parts.map((p) => obj(p.body.audio).voice), [true, undefined, undefined]);
  });

  test('document without a filename takes it from the URL path', () => {
    const [part] = plan(reply({ attachments: [{ kind: 'document', url: 'https://chat.acme.test/redirect/abc--1/Q3%20report.pdf' }] }));
    assert.equal(obj(part?.body.document).filename, 'Q3 report.pdf');
  });

  test('withMediaId puts the uploaded id in place of the placeholder', () => {
    const [part] = plan(reply({ content: 'cap', attachments: [image] }));
    assert.ok(part);
    const filled = withMediaId(part, '1479537139650973');
    assert.deepEqual(filled.image, { id: '1479537139650973', caption: 'cap' });
    assert.equal(obj(part.body.image).id, MEDIA_UPLOAD_PLACEHOLDER, 'the planned part is not changed');
    const [text] = plan(reply({ content: 'x' }));
    assert.throws(() => withMediaId(text as SendPart, '1'), /no media/);
  });

  test('a long text is split at paragraph, line and word boundaries, each ≤ 4096, nothing lost', () => {
    const paragraph = (n: number) => `Paragraph ${n}: ` + 'lorem ipsum dolor sit amet '.repeat(60).trim();
    const content = Array.from({ length: 8 }, (_v, i) => paragraph(i + 1)).join('\n\n');
    assert.ok(content.length > 3 * 4096);
    const parts = plan(reply({ content, replyToExternalId: WAMID }));
    assert.ok(parts.length >= 4);
    assert.ok(parts.every((p) => p.kind === 'text'));
    const bodies = parts.map((p) => obj(p.body.text).body as string);
    assert.ok(bodies.every((b) => /^Paragraph \d+:/.test(b)), 'every chunk starts at a paragraph');
    assert.equal(bodies.join('\n\n'), content);
    assert.deepEqual(parts[0]?.body.context, { message_id: WAMID });
  });

  const splitCases: Array<[string, string, number, string[]]> = [
    ['fits', 'abc def', 10, ['abc def']],
    ['at a line break', 'aaaa bbbb\ncccc', 10, ['aaaa bbbb', 'cccc']],
    ['at a word', 'aaaa bbbb cccc', 10, ['aaaa bbbb', 'cccc']],
    ['hard cut without spaces', 'abcdefghijkl', 5, ['abcde', 'fghij', 'kl']],
    ['never splits a surrogate pair', 'abcd😀ef', 5, ['abcd', '😀ef']],
  ];
  for (const [name, text, max, expected] of splitCases) {
    test(`splitText: ${name}`, () => assert.deepEqual(splitText(text, max), expected));
  }

  test('an empty reply plans nothing', () => {
    assert.deepEqual(plan(reply({ content: '' })), []);
  });

  test('Chatwoot\'s agent reply with an attachment (synth v4.15.1 payload)', () => {
    const hook = load('chatwoot', 'synth-v4.15.1-message_created-outgoing-reply-with-attachment.json');
    const attachment = arr(hook.attachments)[0] ?? {};
    const parts = plan(reply({
      content: hook.content as string,
      attachments: [{ kind: 'image', url: attachment.data_url as string, mimeType: attachment.content_type as string }],
      replyToExternalId: obj(hook.content_attributes).in_reply_to_external_id as string,
    }), { to: obj(obj(hook.conversation).contact_inbox).source_id as string });
    assert.equal(parts.length, 1);
    assert.deepEqual(parts[0]?.body, {
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '+5215512345678',
      context: { message_id: WAMID }, type: 'image', image: { id: MEDIA_UPLOAD_PLACEHOLDER, caption: 'Here is your receipt' },
    });
    assert.deepEqual(parts[0]?.media, { url: attachment.data_url, mimeType: 'image/jpeg' });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('planWhatsAppSend: recipient', () => {
  const cases: Array<[string, { to?: string; recipient?: string }, Obj]> = [
    ['phone digits get a +', { to: WA_ID }, { to: `+${WA_ID}` }],
    ['a + number is kept', { to: '+16505551234' }, { to: '+16505551234' }],
    ['BSUID-only customer: recipient', { recipient: BSUID }, { recipient: BSUID }],
    ['both: to wins', { to: WA_ID, recipient: BSUID }, { to: `+${WA_ID}` }],
    ['blank to falls back to recipient', { to: ' ', recipient: BSUID }, { recipient: BSUID }],
  ];
  for (const [name, to, expected] of cases) {
    test(name, () => {
      const parts = plan(reply({ content: 'hello', attachments: [{ kind: 'image', url: 'https://x.test/a.png' }, { kind: 'sticker', url: 'https://x.test/s.webp' }] }), to);
      for (const part of parts) {
        assert.deepEqual({ to: part.body.to, recipient: part.body.recipient }, { to: undefined, recipient: undefined, ...expected });
      }
    });
  }
  test('nobody to send to is a permanent error', () => {
    assert.throws(() => planWhatsAppSend(reply({ content: 'x' }), {}), PermanentError);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('planWhatsAppSend: choices', () => {
  const choices = (n: number, title = (i: number) => `Option ${i}`) =>
    Array.from({ length: n }, (_v, i) => ({ title: title(i + 1), value: `opt_${i + 1}` }));

  for (const n of [1, 2, 3]) {
    test(`${n} choice(s) → reply buttons`, () => {
      const parts = plan(reply({ content: 'Pick **one**', choices: choices(n), replyToExternalId: WAMID }));
      assert.equal(parts.length, 1);
      const interactive = obj(parts[0]?.body.interactive);
      assert.equal(interactive.type, 'button');
      assert.deepEqual(interactive.body, { text: 'Pick *one*' });
      assert.deepEqual(obj(interactive.action).buttons, choices(n).map((c) => ({ type: 'reply', reply: { id: c.value, title: c.title } })));
      assert.deepEqual(parts[0]?.body.context, { message_id: WAMID });
    });
  }

  test('the button message has the shape of Meta\'s reply-button example', () => {
    const spec = obj(load('meta', 'whatsapp-send-spec-reply-button.json').interactive);
    const interactive = obj(plan(reply({ content: 'x', choices: choices(2) }))[0]?.body.interactive);
    assert.deepEqual(Object.keys(interactive).sort(), Object.keys(spec).sort());
    assert.deepEqual(Object.keys(obj(arr(obj(interactive.action).buttons)[0])).sort(), Object.keys(obj(arr(obj(spec.action).buttons)[0])).sort());
  });

  for (const n of [4, 10]) {
    test(`${n} choices → a list`, () => {
      const parts = plan(reply({ content: 'Pick a slot', choices: choices(n) }));
      const interactive = obj(parts[0]?.body.interactive);
      assert.equal(interactive.type, 'list');
      assert.deepEqual(interactive.body, { text: 'Pick a slot' });
      assert.equal(obj(interactive.action).button, LIST_BUTTON_LABEL);
      const rows = arr(arr(obj(interactive.action).sections)[0]?.rows);
      assert.deepEqual(rows, choices(n).map((c) => ({ id: c.value, title: c.title })));
    });
  }

  test('more than 10 choices → the first 10 as rows, the rest as numbered lines in the body', () => {
    const parts = plan(reply({ content: 'Pick a city', choices: choices(12, (i) => `City ${i}`) }));
    const interactive = obj(parts[0]?.body.interactive);
    const rows = arr(arr(obj(interactive.action).sections)[0]?.rows);
    assert.equal(rows.length, 10);
    assert.equal(rows[9]?.title, 'City 10');
    assert.deepEqual(interactive.body, { text: 'Pick a city\n\n11. City 11\n12. City 12' });
  });

  test('button titles: cut to 20 with an ellipsis, and kept unique', () => {
    const parts = plan(reply({
      content: 'Which one?',
      choices: [
        { title: 'Schedule a call with sales', value: 'call_sales' },
        { title: 'Schedule a call with support', value: 'call_support' },
        { title: 'No', value: 'x'.repeat(300) },
      ],
    }));
    const buttons = arr(obj(obj(parts[0]?.body.interactive).action).buttons).map((b) => obj(b.reply));
    assert.deepEqual(buttons.map((b) => b.title), ['Schedule a call wit…', 'Schedule a…h support', 'No']);
    assert.deepEqual(buttons.map((b) => (b.id as string).length), [10, 12, 256]);
  });

  test('identical button titles get a number', () => {
    const parts = plan(reply({ content: 'Sure?', choices: [{ title: 'Yes', value: 'a' }, { title: 'Yes', value: 'b' }, { title: 'Yes', value: 'c' }] }));
    const buttons = arr(obj(obj(parts[0]?.body.interactive).action).buttons).map((b) => obj(b.reply));
    assert.deepEqual(buttons.map((b) => [b.id, b.title]), [['a', 'Yes'], ['b', 'Yes (2)'], ['c', 'Yes (3)']]);
  });

  test('list rows: long title cut to 24 with the rest as description; ids cut to 200 and unique', () => {
    const long = 'Deliver to my office address tomorrow morning before ten';
    const parts = plan(reply({
      content: 'When?',
      choices: [
        { title: long, value: 'v'.repeat(250) },
        { title: 'Today', value: 'v'.repeat(250) },
        { title: 'Tomorrow', value: 'tomorrow' },
        { title: 'Later', value: '' },
      ],
    }));
    const rows = arr(arr(obj(obj(parts[0]?.body.interactive).action).sections)[0]?.rows);
    assert.equal(rows[0]?.title, 'Deliver to my office…');
    assert.equal(rows[0]?.description, '…address tomorrow morning before ten');
    assert.equal((rows[0]?.id as string).length, 200);
    assert.equal(rows[1]?.id, `${'v'.repeat(198)}~2`);
    assert.deepEqual(rows[3], { id: 'Later', title: 'Later' }, 'an empty value falls back to the title');
  });

  test('button body over 1024: the start goes first as text, the buttons carry the end', () => {
    const content = `${'word '.repeat(300).trim()}\n\nPlease confirm.`;
    const parts = plan(reply({ content, choices: choices(2), replyToExternalId: WAMID }));
    assert.deepEqual(parts.map((p) => p.kind), ['text', 'interactive']);
    assert.deepEqual(parts[0]?.body.context, { message_id: WAMID });
    const body = obj(obj(parts[1]?.body.interactive).body).text as string;
    assert.ok(body.endsWith('Please confirm.'));
    assert.equal(`${obj(parts[0]?.body.text).body} ${body}`, content, 'cut at a word, nothing lost');
  });

  test('no content: a fallback prompt; attachments go before the question', () => {
    const parts = plan(reply({ content: null, choices: choices(2), attachments: [{ kind: 'image', url: 'https://x.test/a.jpg' }], replyToExternalId: WAMID }));
    assert.deepEqual(parts.map((p) => p.kind), ['image', 'interactive']);
    assert.equal(obj(parts[0]?.body.image).caption, undefined);
    assert.deepEqual(obj(parts[1]?.body.interactive).body, { text: CHOICE_PROMPT_FALLBACK });
  });

  test('choices without title or value are dropped; none left → plain text', () => {
    const parts = plan(reply({ content: 'hi', choices: [{ title: ' ', value: '' }] }));
    assert.deepEqual(parts.map((p) => p.kind), ['text']);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('templates', () => {
  test('a template reply is one template part; the rendered content is not sent', () => {
    const template: TemplateRequest = {
      name: 'order_update', language: 'en_US',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'John' }] }],
    };
    const parts = plan(reply({ content: 'Hi John, your order…', template, attachments: [], replyToExternalId: WAMID }), { recipient: BSUID });
    assert.deepEqual(parts, [{
      index: 0, kind: 'template',
      body: {
        messaging_product: 'whatsapp', recipient_type: 'individual', recipient: BSUID, context: { message_id: WAMID },
        type: 'template',
        template: { name: 'order_update', language: { policy: 'deterministic', code: 'en_US' }, components: template.components },
      },
    }]);
  });

  const chatwootCases: Array<{ name: string; params: unknown; expected: TemplateRequest | undefined }> = [
    { name: 'absent', params: undefined, expected: undefined },
    { name: 'empty object', params: {}, expected: undefined },
    { name: 'not an object', params: 'order_update', expected: undefined },
    {
      name: 'enhanced: header image, positional body in numeric key order, url / copy_code / quick_reply buttons',
      params: {
        name: 'order_update', category: 'UTILITY', language: 'en_US',
        processed_params: {
          header: { media_url: 'https://cdn.acme.test/banner.jpg', media_type: 'image' },
          body: { 2: '12345', 1: 'John', 10: 'ten' },
          footer: { 1: 'ignored' },
          buttons: [{ type: 'url', parameter: 'track/12345' }, { type: 'copy_code', parameter: 'SAVE10' }, { type: 'quick_reply', parameter: 'STOP' }, { type: 'quick_reply' }],
        },
      },
      expected: {
        name: 'order_update', language: 'en_US',
        components: [
          { type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.acme.test/banner.jpg' } }] },
          { type: 'body', parameters: [{ type: 'text', text: 'John' }, { type: 'text', text: '12345' }, { type: 'text', text: 'ten' }] },
          { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'track/12345' }] },
          { type: 'button', sub_type: 'copy_code', index: '1', parameters: [{ type: 'coupon_code', coupon_code: 'SAVE10' }] },
          { type: 'button', sub_type: 'quick_reply', index: '2', parameters: [{ type: 'payload', payload: 'STOP' }] },
        ],
      },
    },
    {
      name: 'named body parameters',
      params: { name: 'welcome', language: 'pt_BR', processed_params: { body: { first_name: 'Ana', order_id: '77' } } },
      expected: {
        name: 'welcome', language: 'pt_BR',
        components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }, { type: 'text', parameter_name: 'order_id', text: '77' }] }],
      },
    },
    {
      name: 'document header with media_name, text header, currency in the body, blank values skipped',
      params: {
        name: 'invoice', language: 'es',
        processed_params: {
          header: { media_url: 'https://cdn.acme.test/i.pdf', media_type: 'DOCUMENT', media_name: 'Factura.pdf' },
          body: { 1: 'Ana', 2: '', 3: { type: 'currency', fallback_value: '$100.99', code: 'USD', amount_1000: 100990 } },
        },
      },
      expected: {
        name: 'invoice', language: 'es',
        components: [
          { type: 'header', parameters: [{ type: 'document', document: { link: 'https://cdn.acme.test/i.pdf', filename: 'Factura.pdf' } }] },
          { type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'currency', currency: { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 } }] },
        ],
      },
    },
    {
      name: 'legacy array',
      params: { name: 'hello', language: 'en', processed_params: ['John', 42] },
      expected: { name: 'hello', language: 'en', components: [{ type: 'body', parameters: [{ type: 'text', text: 'John' }, { type: 'text', text: '42' }] }] },
    },
    {
      name: 'legacy flat hash',
      params: { name: 'hello', language: 'en', processed_params: { 1: 'John' } },
      expected: { name: 'hello', language: 'en', components: [{ type: 'body', parameters: [{ type: 'text', text: 'John' }] }] },
    },
    {
      name: 'no parameters',
      params: { name: 'hello_world', language: 'en_US' },
      expected: { name: 'hello_world', language: 'en_US', components: [] },
    },
  ];
  for (const c of chatwootCases) {
    test(`from Chatwoot template_params: ${c.name}`, () => assert.deepEqual(fromChatwootTemplateParams(c.params), c.expected));
  }

  test('Chatwoot params build the body shape of Meta\'s media-template example', () => {
    const spec = obj(load('meta', 'whatsapp-send-spec-message-template-media.json').template);
    const template = fromChatwootTemplateParams({
      name: 'template_name', language: 'en_US',
      processed_params: { header: { media_url: 'http(s)://the-image-url', media_type: 'image' }, body: { 1: 'text-string' } },
    });
    assert.ok(template);
    const sent = obj(plan(reply({ content: null, template }))[0]?.body.template);
    const components = arr(sent.components);
    assert.deepEqual(components[0], arr(spec.components)[0]);
    assert.deepEqual(arr(components[1]?.parameters)[0], arr(arr(spec.components)[1]?.parameters)[0]);
  });

  const chatwootErrors: Array<[string, unknown, RegExp]> = [
    ['missing name', { language: 'en', processed_params: {} }, /not a valid template name/],
    ['bad name', { name: 'Order Update', language: 'en' }, /"Order Update" is not a valid template name/],
    ['bad language', { name: 'order_update', language: 'english' }, /"english" is not a valid language code/],
    ['unsupported header media', { name: 'x', language: 'en', processed_params: { header: { media_url: 'https://a.test/l', media_type: 'location' } } }, /header media type "location" is not supported/],
  ];
  for (const [name, params, message] of chatwootErrors) {
    test(`from Chatwoot template_params, malformed: ${name}`, () => {
      assert.throws(() => fromChatwootTemplateParams(params), (err: unknown) => err instanceof TemplateSyntaxError && message.test(err.message));
    });
  }

  const plainCases: Array<[string, string, TemplateRequest | undefined]> = [
    ['not a command', 'Hello, your order shipped', undefined],
    ['a word that only starts like it', '/templates are great', undefined],
    ['command later in the text', 'use /template order_update en', undefined],
    ['name and language only', '/template hello_world en_US', { name: 'hello_world', language: 'en_US', components: [] }],
    ['positional parameters', '/template order_update en_US | John | 12345', {
      name: 'order_update', language: 'en_US',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'John' }, { type: 'text', text: '12345' }] }],
    }],
    ['editor escapes undone, \\| is a literal pipe', '/template order\\_update en\\_US | A \\| B | x\\_y', {
      name: 'order_update', language: 'en_US',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'A | B' }, { type: 'text', text: 'x_y' }] }],
    }],
    ['header image', '/Template promo es_MX | header=https://cdn.acme.test/x.jpg | Ana', {
      name: 'promo', language: 'es_MX',
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.acme.test/x.jpg' } }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Ana' }] },
      ],
    }],
    ['header document from an autolink, with its file name', '/template invoice en | header=<https://cdn.acme.test/docs/Invoice%2042.pdf?sig=1>', {
      name: 'invoice', language: 'en',
      components: [{ type: 'header', parameters: [{ type: 'document', document: { link: 'https://cdn.acme.test/docs/Invoice%2042.pdf?sig=1', filename: 'Invoice 42.pdf' } }] }],
    }],
    ['header video and text header', '/template clip en | header=https://cdn.acme.test/v.MP4', {
      name: 'clip', language: 'en', components: [{ type: 'header', parameters: [{ type: 'video', video: { link: 'https://cdn.acme.test/v.MP4' } }] }],
    }],
    ['text header', '/template hi en | header=Welcome', {
      name: 'hi', language: 'en', components: [{ type: 'header', parameters: [{ type: 'text', text: 'Welcome' }] }],
    }],
    ['named parameters', '/template welcome pt_BR | {{first_name}}=Ana | {{ order_id }} = 77', {
      name: 'welcome', language: 'pt_BR',
      components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }, { type: 'text', parameter_name: 'order_id', text: '77' }] }],
    }],
  ];
  for (const [name, text, expected] of plainCases) {
    test(`from plain text: ${name}`, () => assert.deepEqual(fromPlainText(text), expected));
  }

  const plainErrors: Array<[string, string, RegExp]> = [
    ['nothing after the command', '/template', /needs a template name and a language/],
    ['no language', '/template order_update', /needs a language after the name "order_update"/],
    ['parameters without a pipe', '/template order_update en_US John 12345', /"John 12345" after the language; separate parameters with "\|"/],
    ['uppercase name', '/template Order_Update en_US | John', /"Order_Update" is not a valid template name/],
    ['name with a dash', '/template order-update en', /not a valid template name/],
    ['bad language', '/template order_update en-US | John', /"en-US" is not a valid language code/],
    ['lowercase region', '/template order_update en_us', /"en_us" is not a valid language code/],
    ['empty parameter', '/template order_update en | John | | 5', /parameter 2 is empty/],
    ['line break in a parameter', '/template order_update en | John\nSmith', /line break/],
    ['mixed named and positional', '/template w en | {{a}}=1 | 2', /mix of numbered and \{\{named\}\}/],
    ['two headers', '/template w en | header=https://a.test/1.jpg | header=https://a.test/2.jpg', /only one header=/],
    ['header link with a space', '/template w en | header=https://a.test/my file.jpg', /not a valid URL/],
  ];
  for (const [name, text, message] of plainErrors) {
    test(`from plain text, malformed: ${name}`, () => {
      assert.throws(() => fromPlainText(text), (err: unknown) => {
        assert.ok(err instanceof TemplateSyntaxError, 'a TemplateSyntaxError');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

describe('humanReason', () => {
  test('131047 reads as the agent should see it', () => {
    assert.deepEqual(humanReason({ code: 131047, title: 'Re-engagement message' }), {
      text: '131047: Re-engagement message — more than 24 hours have passed since the customer last wrote; send an approved template instead.',
      retryable: false,
      reauth: false,
    });
  });

  const groups: Array<{ name: string; codes: number[]; retryable: boolean; reauth: boolean; says: RegExp }> = [
    { name: 'token', codes: [0, 190], retryable: false, reauth: true, says: /reconnect the WhatsApp account/ },
    { name: 'permissions', codes: [3, 10, 200, 250, 299, 131005], retryable: false, reauth: false, says: /permission/ },
    { name: 'throughput and pair limits', codes: [4, 80007, 130429, 131056], retryable: true, reauth: false, says: /retries automatically/ },
    { name: 'transient', codes: [1, 2, 131000, 131016, 133004, 131057], retryable: true, reauth: false, says: /retries automatically/ },
    { name: 'invalid parameters', codes: [100, 131008, 131009, 135000], retryable: false, reauth: false, says: /rejected/ },
    { name: 'outside the 24 h window', codes: [131047, 470], retryable: false, reauth: false, says: /send an approved template/ },
    { name: 'undeliverable', codes: [131026], retryable: false, reauth: false, says: /not on WhatsApp.*check the number or reach them another way/ },
    { name: 'unsupported type', codes: [131051], retryable: false, reauth: false, says: /does not accept this kind of message/ },
    { name: 'per-user marketing limit', codes: [131049], retryable: false, reauth: false, says: /at least 24 hours/ },
    { name: 'stopped marketing', codes: [131050], retryable: false, reauth: false, says: /opted out of marketing/ },
    { name: 'media', codes: [131052, 131053], retryable: false, reauth: false, says: /file/ },
    { name: 'templates', codes: [132000, 132001, 132005, 132007, 132012, 132015, 132016, 131064, 131063], retryable: false, reauth: false, says: /template/i },
    { name: 'sender is recipient', codes: [131021], retryable: false, reauth: false, says: /business number itself/ },
    { name: 'experiment', codes: [130472], retryable: false, reauth: false, says: /experiment/ },
    { name: 'account restricted', codes: [131031, 368, 131048, 130497], retryable: false, reauth: false, says: /restrict|locked/ },
    { name: 'payment', codes: [131042], retryable: false, reauth: false, says: /payment method/ },
    { name: 'BSUID not supported', codes: [131062], retryable: false, reauth: false, says: /send it to their phone number instead/ },
    { name: 'customer blocked', codes: [130403], retryable: false, reauth: false, says: /blocked the customer/ },
    { name: 'registration and number', codes: [131037, 131045, 133010, 133016, 33], retryable: false, reauth: false, says: /administrator/ },
  ];
  for (const g of groups) {
    test(`${g.name}: ${g.codes.join(', ')}`, () => {
      for (const code of g.codes) {
        const reason = humanReason({ code, title: 'whatever Meta says' });
        assert.match(reason.text, new RegExp(`^${code}: [^—]+ — .+[.)]$`), `${code}: "code: title — what to do"`);
        assert.doesNotMatch(reason.text, /whatever Meta says/, `${code}: our own title for a known code`);
        assert.match(reason.text, g.says, `${code}`);
        assert.equal(reason.retryable, g.retryable, `${code}: retryable`);
        assert.equal(reason.reauth, g.reauth, `${code}: reauth`);
      }
    });
  }

  test('every template code has its own message', () => {
    const texts = [132000, 132001, 132005, 132007, 132012, 132015, 132016].map((code) => humanReason({ code }).text.replace(/^\d+: /, ''));
    assert.equal(new Set(texts).size, texts.length);
  });

  test('Meta\'s details are appended for a known code', () => {
    assert.equal(
      humanReason({ code: 100, title: 'Invalid parameter', details: 'Param text cannot have new-line/tab characters.' }).text,
      '100: Invalid parameter — WhatsApp rejected the request as malformed; this is a bridge problem — report it to your administrator with the time of the message. (WhatsApp: Param text cannot have new-line/tab characters.)',
    );
  });

  const unknown: Array<[{ code: number; title?: string; details?: string }, string]> = [
    [{ code: 999999, title: 'Something new', details: 'It broke.' }, '999999: Something new — It broke'],
    [{ code: 131999, title: 'Odd' }, '131999: Odd'],
    [{ code: 42 }, '42: Unknown error'],
  ];
  for (const [err, text] of unknown) {
    test(`unknown code ${err.code}: "code: title — details", not retried`, () => {
      assert.deepEqual(humanReason(err), { text, retryable: false, reauth: false });
    });
  }
});
