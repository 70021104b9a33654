/**
 * The claim every customer event and every reply takes before it reaches the platform (store/inbound-keys.ts), on
 * the real MongoDB-wire server: fresh, busy, taken over once its lease ran out (after a crash, or at once after a
 * failed attempt ended it, however often), done; a takeover is won by one worker only; and every filter names
 * `_id` alone (FerretDB reads the whole collection for any other: the chaos run measured ~2.7 s per call).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { requireServices, uniqueDbName } from '../support/env';
import { withDb } from '../support/harness';
import { InboundKeyRepository } from '../../src/store/inbound-keys';

const LEASE_MS = 60_000;

describe('inbound keys (claims)', () => {
  let db: mongoose.Connection;
  let keys: InboundKeyRepository;
  const filters: Array<{ command: string; filter: Record<string, unknown> }> = [];

  before(async () => {
    db = await mongoose.createConnection(withDb(requireServices().mongoUri, uniqueDbName('claims')), { monitorCommands: true }).asPromise();
    db.getClient().on('commandStarted', (e) => {
      const c = e.command as Record<string, unknown>;
      if (e.commandName === 'update') for (const u of c.updates as Array<{ q: Record<string, unknown> }>) filters.push({ command: 'update', filter: u.q });
      if (e.commandName === 'find') filters.push({ command: 'find', filter: c.filter as Record<string, unknown> });
      if (e.commandName === 'findAndModify') filters.push({ command: 'findAndModify', filter: c.query as Record<string, unknown> });
      if (e.commandName === 'delete') for (const d of c.deletes as Array<{ q: Record<string, unknown> }>) filters.push({ command: 'delete', filter: d.q });
    });
    keys = new InboundKeyRepository(db, 8 * 24 * 3600 * 1000, LEASE_MS);
    await keys.model.init();
  });

  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await db.close();
  });

  test('when an attempt fails and ends its lease, then every retry takes the claim over at once, as often as it fails', async () => {
    const t0 = Date.now();
    assert.equal(await keys.claim('c:a', new Date(t0)), 'fresh');
    assert.equal(await keys.claim('c:a', new Date(t0 + 10)), 'busy');
    for (let i = 1; i <= 3; i += 1) {
      await keys.endLease('c:a', new Date(t0 + i * 1000));
      assert.equal(await keys.claim('c:a', new Date(t0 + i * 1000 + 5)), 'unfinished', `retry ${i}`);
      assert.equal(await keys.claim('c:a', new Date(t0 + i * 1000 + 10)), 'busy', `retry ${i}: the new lease holds`);
    }
    await keys.markDone('c:a');
    assert.equal(await keys.claim('c:a', new Date(t0 + 10_000)), 'done');
    await keys.endLease('c:a');
    assert.equal(await keys.claim('c:a', new Date(t0 + 10_000)), 'done', 'ending a lease does not undo done');
  });

  test('when a worker died holding the claim, then it is taken over only after the lease', async () => {
    const t0 = Date.now();
    assert.equal(await keys.claim('c:b', new Date(t0)), 'fresh');
    assert.equal(await keys.claim('c:b', new Date(t0 + LEASE_MS - 1)), 'busy');
    assert.equal(await keys.claim('c:b', new Date(t0 + LEASE_MS + 1)), 'unfinished');
  });

  test('when two workers take over the same lease at once, then one wins and the other is told busy', async () => {
    const t0 = Date.now();
    await keys.claim('c:c', new Date(t0));
    await keys.endLease('c:c', new Date(t0 + 1));
    const both = await Promise.all([keys.claim('c:c', new Date(t0 + 2)), keys.claim('c:c', new Date(t0 + 2))]);
    assert.deepEqual(both.sort(), ['busy', 'unfinished']);
  });

  test('when a key is reopened for a replay, twice, then each replay takes it over', async () => {
    const t0 = Date.now();
    await keys.claim('c:d', new Date(t0));
    await keys.markDone('c:d');
    for (let i = 1; i <= 2; i += 1) {
      assert.equal(await keys.reopen('c:d', { evenIfDone: true }, new Date(t0 + i * 1000)), 'reopened');
      assert.equal(await keys.claim('c:d', new Date(t0 + i * 1000 + 5)), 'unfinished', `replay ${i}`);
      await keys.markDone('c:d');
    }
  });

  test('when claims are read and written, then every filter names _id alone', () => {
    assert.ok(filters.length > 10);
    for (const { command, filter } of filters) assert.deepEqual(Object.keys(filter), ['_id'], `${command} ${JSON.stringify(filter)}`);
  });
});
