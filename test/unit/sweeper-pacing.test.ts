/**
 * The expiry sweeper paces itself by what a pass costs: on FerretDB a pass reads every record, and passes every
 * minute from each process saturated the database in the chaos run as records grew.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ExpirySweeper, SWEEP_DUTY_FACTOR } from '../../src/store/sweeper';
import type { ExpiryDeclaration } from '../../src/store/mongo';
import { createLogger } from '../../src/log/logger';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A collection whose deleteMany takes passMs and counts its calls. */
function slowCollection(passMs: number): { decl: ExpiryDeclaration; passes: () => number } {
  let passes = 0;
  const model = { deleteMany: async () => { passes += 1; await sleep(passMs); return { deletedCount: 0 }; } };
  return { decl: { model: model as unknown as ExpiryDeclaration['model'], field: 'expiresAt' }, passes: () => passes };
}

const log = createLogger({ level: 'error', stream: new PassThrough() });

test('when a pass is slow, then the next waits SWEEP_DUTY_FACTOR times its length, not just the interval', async () => {
  const slow = slowCollection(40);
  const sweeper = new ExpirySweeper([slow.decl], log);
  sweeper.start(10);
  await sleep(1_000);
  await sweeper.stop();
  // Each cycle takes at least 40 ms + 40 × factor ms ≈ 440 ms: at most 3 passes in a second (a fixed 10 ms timer made ~20).
  assert.ok(SWEEP_DUTY_FACTOR >= 5);
  assert.ok(slow.passes() >= 1 && slow.passes() <= 3, `passes: ${slow.passes()}`);
});

test('when passes are cheap, then the interval rules, and stop() ends the timer', async () => {
  const cheap = slowCollection(0);
  const sweeper = new ExpirySweeper([cheap.decl], log);
  sweeper.start(20);
  await sleep(500);
  await sweeper.stop();
  const atStop = cheap.passes();
  assert.ok(atStop >= 5, `passes: ${atStop}`);
  await sleep(100);
  assert.equal(cheap.passes(), atStop, 'no pass after stop()');
});
