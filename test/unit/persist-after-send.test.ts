/**
 * persistAfterSend (src/core/persist-after-send.ts): the record of a send Meta accepted is retried in place until it
 * is written or its time is up, so a passing database hiccup cannot turn into a second send.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedLog as capture } from '../support/captured-log';
import { persistAfterSend } from '../../src/core/persist-after-send';

/** A clock that only moves when the code sleeps. */
function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return { slept, now: () => t, sleep: async (ms: number) => { slept.push(ms); t += ms; } };
}

const busy = () => new Error('database is locked (5) (SQLITE_BUSY)');

describe('persist after send', () => {
  test('when the write fails twice and then succeeds, then its value comes back after two pauses, with one warning', async () => {
    const { log, lines } = capture();
    const time = fakeTime();
    let calls = 0;
    const value = await persistAfterSend(async () => { calls += 1; if (calls < 3) throw busy(); return 'written'; }, 'record', log, { withinMs: 20_000, ...time });
    assert.equal(value, 'written');
    assert.equal(calls, 3);
    assert.deepEqual(time.slept, [100, 200]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines.map((l) => l.level), ['warn']);
  });

  test('when the database stays away, then the pauses grow to 2 s, the error goes up before the deadline, and the log says a retry may repeat the send', async () => {
    const { log, lines } = capture();
    const time = fakeTime();
    let calls = 0;
    await assert.rejects(persistAfterSend(async () => { calls += 1; throw busy(); }, 'record', log, { withinMs: 10_000, ...time }), /SQLITE_BUSY/);
    assert.ok(time.now() <= 10_000, `gave up by the deadline (at ${time.now()} ms)`);
    assert.equal(Math.max(...time.slept), 2_000);
    assert.ok(calls >= 8, `kept trying (${calls} tries)`);
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.at(-1)?.level, 'error');
    assert.match(lines.at(-1)!.message, /may repeat what was already done/);
  });

  test('when one try takes longer than the whole window, then it still tries five times before giving up', async () => {
    const { log } = capture();
    const time = fakeTime();
    let calls = 0;
    const slowBusy = async () => { calls += 1; await time.sleep(25_000); throw busy(); };
    await assert.rejects(persistAfterSend(slowBusy, 'record', log, { withinMs: 20_000, ...time }), /SQLITE_BUSY/);
    assert.equal(calls, 5);
    calls = 0;
    let ok = 0;
    assert.equal(await persistAfterSend(async () => { calls += 1; await time.sleep(25_000); if (calls < 4) throw busy(); ok += 1; return 'in'; }, 'record', log, { withinMs: 20_000, ...time }), 'in');
    assert.equal(ok, 1, 'the fourth try, far past the window, still counts');
  });

  test('when the first write works, then nothing waits and nothing is logged', async () => {
    const { log, lines } = capture();
    const time = fakeTime();
    assert.equal(await persistAfterSend(async () => 7, 'record', log, { withinMs: 1_000, ...time }), 7);
    assert.deepEqual(time.slept, []);
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 0);
  });
});
