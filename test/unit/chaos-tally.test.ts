/**
 * The chaos run's counting (chaos/tally.ts) and its workload helpers: a report that can only say
 * "all good" would hide what the run is for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inSigkillWindow, inversions, percentile, tally, type SentItem } from '../../chaos/tally';
import { replyKeyIn, replyText, replyTriggers, seededRandom } from '../../chaos/workload';

const sent: SentItem[] = [
  { key: 'a0', stream: 'a', seq: 0, sentAt: 1000 },
  { key: 'a1', stream: 'a', seq: 1, sentAt: 1100 },
  { key: 'a2', stream: 'a', seq: 2, sentAt: 1200 },
  { key: 'b0', stream: 'b', seq: 0, sentAt: 1000 },
  { key: 'b1', stream: 'b', seq: 1, sentAt: 1000 },
];

test('when everything arrives once and in order, then delivered equals sent and nothing else is counted', () => {
  const t = tally(sent, sent.map((s) => ({ key: s.key, at: s.sentAt + 50 })));
  assert.equal(t.delivered, 5);
  assert.deepEqual(t.missing, []);
  assert.equal(t.duplicates, 0);
  assert.equal(t.outOfOrderPairs, 0);
  assert.deepEqual(t.delayMs, { p50: 50, p99: 50, max: 50 });
});

test('when items are lost, doubled, swapped or unknown, then each is counted', () => {
  const t = tally(sent, [
    { key: 'a2', at: 1300 }, { key: 'a0', at: 1310 }, { key: 'a1', at: 1320 }, // a2 overtook a0 and a1: 2 pairs
    { key: 'b0', at: 1400 }, { key: 'b0', at: 1500 }, // doubled
    { key: 'zz', at: 1600 }, // nobody sent it
  ]);
  assert.equal(t.delivered, 4);
  assert.deepEqual(t.missing, ['b1']);
  assert.equal(t.duplicates, 1);
  assert.deepEqual(t.duplicated, [{ key: 'b0', arrivals: [1400, 1500] }]);
  assert.equal(t.unexpected, 1);
  assert.equal(t.outOfOrderPairs, 2);
  assert.equal(t.streamsOutOfOrder, 1);
  assert.equal(t.delayMs.max, 400);
});

test('a duplicate counts as the SIGKILL window only when its first copy came just before a kill and the second after it', () => {
  const kill = 10_000;
  const duplicated = [
    { key: 'in-window', arrivals: [9_800, 14_000] },
    { key: 'first-too-early', arrivals: [5_000, 14_000] },
    { key: 'both-before-kill', arrivals: [9_800, 9_900] },
    { key: 'after-kill', arrivals: [10_100, 14_000] },
  ];
  assert.deepEqual(inSigkillWindow(duplicated, [kill], 3_000), ['in-window']);
  assert.deepEqual(inSigkillWindow(duplicated, [], 3_000), []);
});

test('inversions and percentiles', () => {
  assert.equal(inversions([0, 1, 2, 3]), 0);
  assert.equal(inversions([3, 2, 1, 0]), 6);
  assert.equal(inversions([1, 0, 2]), 1);
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile([], 50), 0);
});

test('reply prompts: never the first message, distinct, inside the customer’s messages', () => {
  assert.deepEqual(replyTriggers(20, 4), [1, 5, 10, 15]);
  assert.deepEqual(replyTriggers(10, 2), [1, 5]);
  assert.deepEqual(replyTriggers(10, 0), []);
  for (const [m, r] of [[2, 1], [5, 4], [20, 19]] as const) {
    const t = replyTriggers(m, r);
    assert.equal(t.length, r);
    assert.ok(t.every((k) => k >= 1 && k < m));
  }
  assert.equal(replyKeyIn(replyText('mk123', 'c7r2'), 'mk123'), 'c7r2');
  assert.equal(replyKeyIn('c7r2 without the marker', 'mk123'), undefined);
});

test('the seeded random repeats', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, seededRandom(8)));
});
