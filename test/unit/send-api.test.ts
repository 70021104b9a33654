/**
 * The Messenger / Instagram Send API planner and error reasons: pure, so every rule is checked here; the
 * component tests show the same parts reaching the Graph fake.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planMessengerSend } from '../../src/channels/messenger/outbound';
import { planInstagramSend } from '../../src/channels/instagram/outbound';
import { BRIDGE_METADATA_PREFIX, HOUR_MS } from '../../src/channels/meta/send-api';
import { describeSendApiFailure, sendApiReason } from '../../src/channels/meta/send-api-errors';
import { graphErrorFrom } from '../../src/channels/meta/graph-errors';
import { PermanentError } from '../../src/core/errors';
import { splitText } from '../../src/channels/meta/text';
import type { OutboundReply } from '../../src/core/outbound';

const PSID = '24054217774215802';
const reply = (r: Partial<OutboundReply>): OutboundReply => ({ content: null, attachments: [], ...r });
const body = (p: { body: Record<string, unknown> }) => p.body as Record<string, any>;

describe('Send API planner', () => {
  test('when the customer wrote within 24 hours, then a text goes as RESPONSE to the PSID, plain text, no tag', () => {
    const [part, ...rest] = planMessengerSend(reply({ content: 'Hello **there**, see [docs](https://x.example/d)' }), { id: PSID }, undefined, { sinceCustomerMs: HOUR_MS });
    assert.equal(rest.length, 0);
    assert.deepEqual(body(part!), { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'Hello there, see docs (https://x.example/d)' } });
  });

  test('when the customer wrote 3 days ago, then HUMAN_AGENT is used only where the connection enables it', () => {
    const since = 72 * HOUR_MS;
    const [tagged] = planMessengerSend(reply({ content: 'late' }), { id: PSID }, undefined, { sinceCustomerMs: since, humanAgentTag: true });
    assert.deepEqual([body(tagged!).messaging_type, body(tagged!).tag], ['MESSAGE_TAG', 'HUMAN_AGENT']);
    assert.throws(() => planMessengerSend(reply({ content: 'late' }), { id: PSID }, undefined, { sinceCustomerMs: since }),
      (err: unknown) => err instanceof PermanentError && /24 hours.*HUMAN_AGENT/.test(err.message));
    assert.throws(() => planInstagramSend(reply({ content: 'too late' }), { id: PSID }, undefined, { sinceCustomerMs: 8 * 24 * HOUR_MS, humanAgentTag: true }),
      (err: unknown) => err instanceof PermanentError && /Instagram.*7 days/.test(err.message));
  });

  test('when the text is long, then Messenger splits at 2,000 characters and Instagram at 1,000 UTF-8 bytes', () => {
    const words = Array.from({ length: 700 }, (_v, i) => `wörd${i}`).join(' ');
    const m = planMessengerSend(reply({ content: words }), { id: PSID });
    assert.ok(m.length >= 3);
    for (const p of m) assert.ok([...(body(p).message.text as string)].length <= 2000);
    const emoji = '😀'.repeat(600);
    const ig = planInstagramSend(reply({ content: emoji }), { id: PSID });
    assert.ok(ig.length >= 3);
    for (const p of ig) assert.ok(Buffer.byteLength(body(p).message.text as string) <= 1000);
    assert.equal(ig.map((p) => body(p).message.text).join(''), emoji, 'nothing lost, no surrogate pair split');
  });

  test('when there are attachments, then Messenger uploads each and Instagram links each; text first; reply_to on the first only', () => {
    const r = reply({
      content: 'files',
      attachments: [
        { kind: 'image', url: 'https://cw.example/a.png', filename: 'a.png', mimeType: 'image/png' },
        { kind: 'document', url: 'https://cw.example/b.pdf' },
        { kind: 'audio', url: 'https://cw.example/c.mp3' },
      ],
    });
    const m = planMessengerSend(r, { id: PSID }, 'm_quoted', { platformMessageId: '77' });
    assert.deepEqual(m.map((p) => p.kind), ['text', 'image', 'file', 'audio']);
    assert.deepEqual(body(m[0]!).reply_to, { mid: 'm_quoted' });
    assert.ok(m.slice(1).every((p) => body(p).reply_to === undefined));
    assert.deepEqual(body(m[1]!).message.attachment, { type: 'image', payload: { is_reusable: false } });
    assert.deepEqual((m[1] as any).upload, { url: 'https://cw.example/a.png', filename: 'a.png', mimeType: 'image/png' });
    assert.deepEqual(m.map((p) => body(p).message.metadata), [0, 1, 2, 3].map((i) => `${BRIDGE_METADATA_PREFIX}77:${i}`));
    const ig = planInstagramSend(r, { id: PSID }, 'm_quoted', { platformMessageId: '77' });
    assert.deepEqual(body(ig[1]!).message.attachment, { type: 'image', payload: { url: 'https://cw.example/a.png', is_reusable: false } });
    assert.equal((ig[1] as any).upload, undefined);
    assert.ok(ig.every((p) => body(p).message.metadata === undefined), 'Instagram sends carry no metadata');
  });

  test('when the agent offers choices, then attachments go first and the question last, with at most 13 quick replies', () => {
    const choices = Array.from({ length: 15 }, (_v, i) => ({ title: i === 0 ? 'A very long option title indeed' : `Option ${i}`, value: `opt_${i}` }));
    const parts = planMessengerSend(reply({ content: 'Pick one', attachments: [{ kind: 'image', url: 'https://cw.example/a.png' }], choices }), { id: PSID });
    assert.deepEqual(parts.map((p) => p.kind), ['image', 'quick_replies']);
    const q = body(parts[1]!).message;
    assert.equal(q.text, 'Pick one');
    assert.equal(q.quick_replies.length, 13);
    assert.deepEqual(q.quick_replies[0], { content_type: 'text', title: 'A very long option…', payload: 'opt_0' });
    assert.ok(q.quick_replies.every((r: { title: string }) => [...r.title].length <= 20));
    const bare = planInstagramSend(reply({ choices: [{ title: 'Yes', value: 'y' }, { title: 'Yes', value: 'y2' }] }), { id: PSID });
    assert.deepEqual(body(bare[0]!).message.quick_replies.map((r: { title: string }) => r.title), ['Yes', 'Yes 2']);
    assert.equal(body(bare[0]!).message.text, 'Please choose an option.');
  });

  test('when there is nobody to send to or a template is asked for, then the reply fails with a reason', () => {
    assert.throws(() => planMessengerSend(reply({ content: 'x' }), { id: ' ' }), /no Messenger recipient/);
    assert.throws(() => planInstagramSend(reply({ content: 'x', template: { name: 't', language: 'en', components: [] } }), { id: PSID }), /no message templates/);
    assert.deepEqual(planMessengerSend(reply({ content: '   ' }), { id: PSID }), []);
  });

  test('splitText keeps WhatsApp behaviour for UTF-16 and never returns an empty chunk for bytes', () => {
    assert.deepEqual(splitText('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
    assert.deepEqual(splitText('😀😀', 3, 'utf8'), ['😀', '😀']);
  });
});

describe('Send API error reasons', () => {
  const fromGraph = (status: number, code: number, message: string, subcode?: number) =>
    graphErrorFrom(status, { error: { message, type: 'OAuthException', code, ...(subcode ? { error_subcode: subcode } : {}), fbtrace_id: 'x' } });

  const cases: Array<{ name: string; err: Error; retryable: boolean; reauth: boolean; text: RegExp }> = [
    { name: 'rate limit 613', err: fromGraph(400, 613, '(#613) Calls to this api have exceeded the rate limit.'), retryable: true, reauth: false, text: /^613: Rate limit reached/ },
    { name: 'rate limit 4', err: fromGraph(400, 4, '(#4) Application request limit reached'), retryable: true, reauth: false, text: /^4: Rate limit/ },
    { name: 'token 190', err: fromGraph(401, 190, 'Error validating access token: Session has expired'), retryable: false, reauth: true, text: /^190: Access token invalid or expired — an administrator must reconnect/ },
    { name: 'window 10/2018278', err: fromGraph(400, 10, '(#10) This message is sent outside of allowed window.', 2018278), retryable: false, reauth: false, text: /^10\/2018278: Outside the messaging window: Messenger accepts replies only within 24 hours/ },
    { name: 'Instagram window 10/2534022', err: fromGraph(400, 10, '(#10) This message is sent outside of allowed window.', 2534022), retryable: false, reauth: false, text: /^10\/2534022: Outside the messaging window/ },
    { name: 'person unavailable 551', err: fromGraph(400, 551, "(#551) This person isn't available right now.", 1545041), retryable: false, reauth: false, text: /^551\/1545041: This person isn't available right now — the customer blocked the Page/ },
    { name: 'no matching user 100/2018001', err: fromGraph(400, 100, '(#100) No matching user found', 2018001), retryable: false, reauth: false, text: /^100\/2018001: No matching user/ },
    { name: 'temporary 1200', err: fromGraph(400, 1200, '(#1200) Temporary send message failure'), retryable: true, reauth: false, text: /^1200: Temporary send failure/ },
    { name: 'server error', err: fromGraph(503, 2, 'Service temporarily unavailable'), retryable: true, reauth: false, text: /^2: Temporary error/ },
    { name: 'permission 200', err: fromGraph(403, 200, '(#200) Permissions error'), retryable: false, reauth: false, text: /^200: Permission missing/ },
    { name: 'unknown code', err: fromGraph(400, 9999, 'Something new'), retryable: false, reauth: false, text: /^9999: Something new$/ },
  ];
  for (const c of cases) {
    test(`${c.name}: retryable=${c.retryable}, reauth=${c.reauth}`, () => {
      const failure = describeSendApiFailure(c.err, 'Messenger', 'Outside the messaging window: Messenger accepts replies only within 24 hours.');
      assert.equal(failure.retryable, c.retryable);
      assert.equal(failure.reauth, c.reauth);
      assert.match(failure.text, c.text);
    });
  }

  test('an error that is not Graph\'s keeps its own words', () => {
    assert.deepEqual(describeSendApiFailure(new PermanentError('attachment could not be downloaded from the platform (404)'), 'Instagram'),
      { text: 'attachment could not be downloaded from the platform (404)', retryable: false, reauth: false });
    assert.equal(sendApiReason({ code: 230 }, 'Messenger').text, '230: Messaging not allowed — the customer\'s settings or Meta\'s policy do not let this Page message them.');
  });
});
