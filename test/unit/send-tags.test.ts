/**
 * Send tags and the decision a retry makes with them (src/core/send-tags.ts, src/core/earlier-send.ts): each
 * WhatsApp part carries a tag Meta echoes in its statuses; a retry of a part whose answer was lost records the
 * part when a status named it, waits while one may still come, and sends again only once that wait is over.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedLog as capture } from '../support/captured-log';
import { isSendTag, sendTagOf } from '../../src/core/send-tags';
import { earlierSendOf } from '../../src/core/earlier-send';
import { RetryableError, mayHaveBeenCarriedOut, PermanentError } from '../../src/core/errors';
import { graphErrorFrom } from '../../src/channels/meta/graph-errors';
import { planWhatsAppSend } from '../../src/channels/whatsapp/outbound';
import { parseWhatsAppDelivery } from '../../src/channels/whatsapp/webhook';
import type { SendLedger } from '../../src/queue/send-ledger';
import type { StatusEvent } from '../../src/core/events';

/** A ledger in memory whose entries a test changes, and a clock that only moves when the code sleeps. */
function world(entry: { attemptedAt?: number; externalId?: string }, onSleep?: (t: number) => void) {
  let t = 100_000;
  const lookups: number[] = [];
  const ledger = { lookup: async () => { lookups.push(t); return { ...entry }; } } as unknown as SendLedger;
  const settings = {
    waitMs: 90_000, pollMs: 10_000, pollEveryMs: 500,
    now: () => t,
    sleep: async (ms: number) => { t += ms; onSleep?.(t); },
  };
  return { ledger, settings, lookups, entry, now: () => t };
}

describe('send tags', () => {
  test('when tags are made, then each part of each reply of each connection has its own, stable, ≤512 characters and opaque', () => {
    const a = sendTagOf('con_1', '901', 0);
    assert.equal(a, sendTagOf('con_1', '901', 0), 'the same part gets the same tag on every try');
    const others = [sendTagOf('con_1', '901', 1), sendTagOf('con_1', '902', 0), sendTagOf('con_2', '901', 0)];
    assert.equal(new Set([a, ...others]).size, 4);
    for (const tag of [a, ...others]) {
      assert.ok(isSendTag(tag));
      assert.ok(tag.length <= 512);
      assert.ok(!tag.includes('con_') && !tag.includes('901'), 'other apps on the WABA see the tag: it names nothing');
    }
    assert.equal(isSendTag('0fS5cePMok'), false, "another app's biz_opaque_callback_data is not ours");
    assert.equal(isSendTag(`${a}x`), false);
  });

  test('when a reply is planned with tags, then every part carries its tag as biz_opaque_callback_data; without, none does', () => {
    const reply = { content: 'see attached', attachments: [{ kind: 'audio' as const, url: 'https://cw.example/a.ogg' }, { kind: 'image' as const, url: 'https://cw.example/b.png' }] };
    const tagged = planWhatsAppSend(reply, { to: '+15551234567' }, (i) => sendTagOf('con_1', '77', i));
    assert.equal(tagged.length, 3);
    tagged.forEach((part, i) => {
      assert.equal(part.tag, sendTagOf('con_1', '77', i));
      assert.equal(part.body.biz_opaque_callback_data, part.tag);
    });
    const plain = planWhatsAppSend(reply, { to: '+15551234567' });
    assert.ok(plain.every((p) => p.tag === undefined && !('biz_opaque_callback_data' in p.body)));
  });

  test("when a status carries the bridge's tag, then the parsed status has it; another app's string is left out", () => {
    const tag = sendTagOf('con_1', '77', 0);
    const status = (opaque?: string) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
        statuses: [{ id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBQkNEMTIzNDU2Nzg5MEFCQ0QA', status: 'sent', timestamp: '1750030073', recipient_id: '16505551234', ...(opaque ? { biz_opaque_callback_data: opaque } : {}) }],
      } }] }],
    });
    const ours = parseWhatsAppDelivery(status(tag)).events[0] as StatusEvent;
    assert.equal(ours.sendTag, tag);
    assert.equal((parseWhatsAppDelivery(status('0fS5cePMok')).events[0] as StatusEvent).sendTag, undefined);
    assert.equal((parseWhatsAppDelivery(status()).events[0] as StatusEvent).sendTag, undefined);
  });

  test('when a Graph call fails, then only an unanswered request after the connection was made may have been carried out', () => {
    assert.equal(mayHaveBeenCarriedOut(graphErrorFrom(undefined, undefined, undefined, 'ECONNRESET')), true);
    assert.equal(mayHaveBeenCarriedOut(graphErrorFrom(undefined, undefined, undefined, 'ECONNABORTED')), true, 'a timeout');
    assert.equal(mayHaveBeenCarriedOut(graphErrorFrom(undefined, undefined, undefined, 'ECONNREFUSED')), false, 'never connected');
    assert.equal(mayHaveBeenCarriedOut(graphErrorFrom(500, { error: { code: 2, message: 'Service temporarily unavailable' } })), false, 'an answer, even a 5xx');
    assert.equal(mayHaveBeenCarriedOut(graphErrorFrom(400, { error: { code: 131047 } })), false);
    assert.equal(mayHaveBeenCarriedOut(new PermanentError('no')), false);
    assert.equal(mayHaveBeenCarriedOut(new RetryableError('rate limited')), false);
    assert.equal(mayHaveBeenCarriedOut(new Error('something unexpected')), true, 'unknown: maybe (costs a wait, never a copy)');
  });
});

describe('a retry of a part whose answer was lost', () => {
  test("when a status already named the part, then Meta's id comes back at once, without waiting", async () => {
    const w = world({ attemptedAt: 99_000, externalId: 'wamid.SENT' });
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), 'wamid.SENT');
    assert.equal(w.lookups.length, 1);
  });

  test('when no try was noted (none made, or Graph refused it), then the part is sent', async () => {
    const w = world({});
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), undefined);
    assert.equal(w.lookups.length, 1, 'no waiting');
  });

  test('when the status comes while the retry polls, then its id comes back', async () => {
    const w = world({ attemptedAt: 100_000 }, (t) => { if (t >= 102_000) w.entry.externalId = 'wamid.LATE'; });
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), 'wamid.LATE');
    assert.equal(w.now(), 102_000, 'found on the poll after it arrived');
  });

  test('when no status comes within the poll, then the retry goes back to the queue, asking to come back before the wait is over', async () => {
    const w = world({ attemptedAt: 95_000 });
    const { log } = capture();
    await assert.rejects(earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), (err: unknown) => {
      assert.ok(err instanceof RetryableError);
      assert.match(err.message, /waiting up to 75 s more for Meta's status/);
      assert.equal(err.retryAfterMs, 30_000, 'at most 30 s between looks');
      return true;
    });
    assert.equal(w.now(), 110_000, 'polled for pollMs');
  });

  test('when the wait after the try is over and no status came, then the part is sent again, with a warning', async () => {
    const w = world({ attemptedAt: 100_000 - 90_000 });
    const { log, lines } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), undefined);
    await new Promise((r) => setImmediate(r));
    assert.ok(lines.some((l) => l.level === 'warn' && /no status from Meta/.test(l.message)));
  });

  test('when the wait is near its end, then the poll stops at the end of the wait, and the part is sent', async () => {
    const w = world({ attemptedAt: 100_000 - 88_000 });
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), undefined);
    assert.equal(w.now(), 102_000);
  });

  test('when the try is settled while the retry polls (Graph refused it after all), then the part is sent', async () => {
    const w = world({ attemptedAt: 100_000 }, (t) => { if (t >= 101_000) delete w.entry.attemptedAt; });
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', w.settings, log), undefined);
    assert.equal(w.now(), 101_000);
  });

  test('when the wait is 0, then an unanswered try is sent again at once (the behaviour before send tags)', async () => {
    const w = world({ attemptedAt: 100_000 });
    const { log } = capture();
    assert.equal(await earlierSendOf(w.ledger, 'con_1', 'mcb1:x', { ...w.settings, waitMs: 0 }, log), undefined);
  });
});
