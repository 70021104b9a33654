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

  /** Where a lane's drain job would live (Bull's job hash), without its generation. */
  const jobKeyPrefix = (lane: string) => `${prefix}:bull:drains:drain:${lane}:`;
  const pushed = (lane: string, eventId: string, timestampMs: number) => lanes.push([{ lane, eventId, timestampMs, sealed: `sealed-${eventId}` }], jobKeyPrefix);
  const push = async (lane: string, eventId: string, timestampMs: number) => new Map([...(await pushed(lane, eventId, timestampMs))].map(([l, r]) => [l, r.generation]));

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

  test('when the generation\'s drain job exists, then a push says so (no second job is added); once the lane finished, it does not', async () => {
    const first = (await pushed('j', 'w1', 1_000)).get('j')!;
    assert.equal(first.hasDrainJob, false, 'no job yet: the edge adds one');
    await redis.hset(`${jobKeyPrefix('j')}${first.generation}`, 'name', '__default__');
    const second = (await pushed('j', 'w2', 2_000)).get('j')!;
    assert.deepEqual(second, { generation: first.generation, hasDrainJob: true }, 'the waiting job will reach w2');
    await lanes.take('j');
    await lanes.complete('j', 'w1', true);
    assert.equal(await lanes.complete('j', 'w2', true), 'finished');
    const third = (await pushed('j', 'w3', 3_000)).get('j')!;
    assert.deepEqual(third, { generation: String(Number(first.generation) + 1), hasDrainJob: false }, 'a new generation needs its own job');
  });

  test('when a lane is empty, then take finds nothing and the lane can be finished', async () => {
    assert.equal(await lanes.take('empty'), null);
    assert.equal(await lanes.finishIfEmpty('empty'), true);
  });
});
