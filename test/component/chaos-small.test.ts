/**
 * The chaos run, small (chaos/scenario.ts; `npm run chaos` is the full one): 400 customer messages from 40
 * customers and 80 agent replies through two bridge processes, with every fault — Chatwoot 5xx on 30% of calls
 * (some after the work was done), Chatwoot down for 10 s, 429 with Retry-After, a Redis restart, one bridge
 * SIGKILLed twice — and Redis and MongoDB scanned for the message text during and after, the logs for text,
 * tokens and phone numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireServices } from '../support/env';
import { runChaos } from '../../chaos/scenario';
import { formatReport } from '../../chaos/report';

test('when everything fails at once, then every message and reply arrives exactly once, in order, and no text is at rest or in the logs', async () => {
  const { mongoUri } = requireServices();
  const report = await runChaos({
    messages: 400, customers: 40, replies: 80, faults: true, seed: 1, ratePerSecond: 20, maxInFlight: 32,
    mongoUri, stallTimeoutMs: 60_000, settleMs: 2_000,
  });
  const text = formatReport(report);
  process.stdout.write(`${text}\n`);
  assert.equal(report.faults.length, 5, 'every fault ran');
  assert.equal(report.inbound.delivered, 400);
  assert.equal(report.replies.delivered, 80);
  assert.equal(report.inbound.duplicates, 0);
  assert.equal(report.replies.duplicates, 0, 'none, the SIGKILL window included (send tags)');
  assert.ok(report.meta.statuses >= 80, 'Meta told of every message it accepted');
  assert.equal(report.inbound.outOfOrderPairs + report.replies.outOfOrderPairs, 0);
  const redisScans = report.scans.filter((s) => s.store === 'redis');
  const mongoScans = report.scans.filter((s) => s.store === 'mongodb');
  assert.ok(redisScans.length >= 6 && mongoScans.length >= 2, 'scanned during and after the run');
  assert.ok(redisScans.every((s) => s.scanned > 0) && mongoScans.every((s) => s.scanned > 0));
  assert.deepEqual(report.scans.flatMap((s) => s.findings), []);
  assert.deepEqual(report.logs.leaks, []);
  assert.deepEqual(report.failures, [], text);
});
