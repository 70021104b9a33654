/**
 * Readiness (src/ops/readiness.ts): every dependency pinged with a time limit; fixed reasons in the report (no
 * driver text), details in the log once per change; shutting down is not ready; probes in a burst share pings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { NotReady, Readiness, type DependencyCheck } from '../../src/ops/readiness';
import { laneOfDrainJobId, drainJobId } from '../../src/queue/lanes';
import { createLogger } from '../../src/log/logger';

function logged(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  return { lines, log: createLogger({ level: 'info', stream }) };
}

const flush = () => new Promise((r) => setImmediate(r));

test('when every dependency answers, then ready with each named ok', async () => {
  const { log } = logged();
  const r = new Readiness([{ name: 'mongodb', ping: async () => undefined }, { name: 'redis', ping: async () => undefined }], { timeoutMs: 200, isShuttingDown: () => false, log });
  assert.deepEqual(await r.report(), { ready: true, checks: { mongodb: 'ok', redis: 'ok' }, failing: [] });
});

test('when a dependency does not answer in time, refuses, or fails, then not ready, naming it with a fixed reason only', async () => {
  const { lines, log } = logged();
  const checks: DependencyCheck[] = [
    { name: 'slow', ping: () => new Promise(() => undefined) },
    { name: 'down', ping: async () => { throw new NotReady('connection is reconnecting'); } },
    { name: 'broken', ping: async () => { throw new Error('connect ECONNREFUSED db.internal.example:27017'); } },
    { name: 'fine', ping: async () => undefined },
  ];
  const r = new Readiness(checks, { timeoutMs: 150, isShuttingDown: () => false, log });
  const started = Date.now();
  const report = await r.report();
  assert.ok(Date.now() - started < 1_000, 'the time limit holds');
  assert.equal(report.ready, false);
  assert.deepEqual(report.failing, ['slow', 'down', 'broken']);
  assert.deepEqual(report.checks, { slow: 'no answer within 150 ms', down: 'connection is reconnecting', broken: 'ping failed', fine: 'ok' });
  await flush();
  const warn = lines.map((l) => JSON.parse(l) as { message: string; reasons?: Record<string, string> }).find((l) => l.message === 'not ready');
  assert.match(warn?.reasons?.broken ?? '', /ECONNREFUSED/, 'the log keeps the detail the report leaves out');
});

test('when the state does not change, then the log says nothing more; when it recovers, it says so once', async () => {
  const { lines, log } = logged();
  let up = false;
  const r = new Readiness([{ name: 'redis', ping: async () => { if (!up) throw new NotReady('connection is closed'); } }], { timeoutMs: 100, isShuttingDown: () => false, log });
  for (let i = 0; i < 3; i++) assert.equal((await r.report()).ready, false);
  up = true;
  for (let i = 0; i < 3; i++) assert.equal((await r.report()).ready, true);
  await flush();
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { message: string }).message), ['not ready', 'ready: every dependency answers']);
});

test('when the process is shutting down, then not ready without pinging anything', async () => {
  const { log } = logged();
  let pings = 0;
  const r = new Readiness([{ name: 'redis', ping: async () => { pings += 1; } }], { timeoutMs: 100, isShuttingDown: () => true, log });
  const report = await r.report();
  assert.deepEqual(report.failing, ['shutting_down']);
  assert.equal(report.ready, false);
  assert.equal(pings, 0);
});

test('when probes arrive together, then they share one round of pings', async () => {
  const { log } = logged();
  let pings = 0;
  const r = new Readiness([{ name: 'mongodb', ping: async () => { pings += 1; await new Promise((res) => setTimeout(res, 20)); } }], { timeoutMs: 500, isShuttingDown: () => false, log });
  const reports = await Promise.all([r.report(), r.report(), r.report()]);
  assert.ok(reports.every((x) => x.ready));
  assert.equal(pings, 1);
  await r.report();
  assert.equal(pings, 2, 'a later probe pings again');
});

test('a drain job id gives back its lane, whatever the lane holds; other job ids give none', () => {
  for (const lane of ['con_abc:Qx9-_hash', 'con_abc:out:12345', 'con:a:b:c']) assert.equal(laneOfDrainJobId(drainJobId(lane, '17')), lane);
  for (const id of ['drain:', 'drain:lane', 'drain:lane:x', 'other:lane:1', '42']) assert.equal(laneOfDrainJobId(id), undefined, id);
});
