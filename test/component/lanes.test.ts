/**
 * The lane scripts the drain works with (queue/lanes.ts), on the real Redis: take() hands out the head with its
 * attempt counted, complete() removes it and hands out the next, or finishes the lane when nothing is left, so a
 * push after that gets a new generation (a new drain job).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { requireServices, uniqueRedisPrefix } from '../support/env';
import { Lanes, laneKeys } from '../../src/queue/lanes';

describe('lanes: take and complete', () => {
  let redis: Redis;
  let lanes: Lanes;
  let prefix: string;

  before(async () => {
    redis = new Redis(requireServices().redisUrl, { lazyConnect: true });
    await redis.connect();
    prefix = uniqueRedisPrefix('lanes');
    lanes = new Lanes(redis, prefix);
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const push = (lane: string, eventId: string, timestampMs: number) => lanes.push([{ lane, eventId, timestampMs, sealed: `sealed-${eventId}` }]);

  test('when a lane holds entries, then take hands out the earliest, counting each attempt', async () => {
    await push('a', 'e2', 2_000);
    await push('a', 'e1', 1_000);
    assert.deepEqual(await lanes.take('a'), { eventId: 'e1', sealed: 'sealed-e1', attempts: 1 });
    // A retry (the drain job failed and runs again) takes the same head: its second attempt.
    assert.deepEqual(await lanes.take('a'), { eventId: 'e1', sealed: 'sealed-e1', attempts: 2 });
  });

  test('when an entry is completed, then the next one comes back in the same call, and the last one finishes the lane', async () => {
    const gen = (await push('b', 'x1', 1_000)).get('b');
    await push('b', 'x2', 2_000);
    const first = await lanes.take('b');
    assert.equal(first?.eventId, 'x1');
    assert.deepEqual(await lanes.complete('b', 'x1', true), { eventId: 'x2', sealed: 'sealed-x2', attempts: 1 });
    assert.equal(await lanes.complete('b', 'x2', true), 'finished');
    const keys = laneKeys(prefix, 'b');
    assert.equal(await redis.exists(keys.q, keys.e, keys.attempts), 0, 'nothing of the finished lane is left but its generation');
    const next = (await push('b', 'x3', 3_000)).get('b');
    assert.equal(Number(next), Number(gen) + 1, 'an event after the finish gets a new drain job');
  });

  test('when the caller stops taking, then complete only removes the entry', async () => {
    await push('c', 'y1', 1_000);
    await push('c', 'y2', 2_000);
    await lanes.take('c');
    assert.equal(await lanes.complete('c', 'y1', false), null);
    assert.equal(await lanes.size('c'), 1);
    assert.deepEqual(await lanes.take('c'), { eventId: 'y2', sealed: 'sealed-y2', attempts: 1 });
  });

  test('when an id has lost its payload, then take drops it and hands out the next entry', async () => {
    await push('d', 'z1', 1_000);
    await push('d', 'z2', 2_000);
    await redis.hdel(laneKeys(prefix, 'd').e, 'z1');
    assert.equal((await lanes.take('d'))?.eventId, 'z2');
    assert.equal(await lanes.size('d'), 1);
  });

  test('when a lane is empty, then take finds nothing and the lane can be finished', async () => {
    assert.equal(await lanes.take('empty'), null);
    assert.equal(await lanes.finishIfEmpty('empty'), true);
  });
});
