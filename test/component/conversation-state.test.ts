/**
 * The customer-service window a conversation's replies are checked against (store/conversation-state.ts), on the
 * real MongoDB-wire server: it only ever moves forward, and its writes go by `_id` alone (FerretDB scans the
 * whole collection for any other filter).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { requireServices, uniqueDbName } from '../support/env';
import { withDb } from '../support/harness';
import { ConversationStateRepository } from '../../src/store/conversation-state';

const DAY_MS = 24 * 3600 * 1000;

describe('conversation state (reply window)', () => {
  let db: mongoose.Connection;
  let repo: ConversationStateRepository;
  const filters: Array<Record<string, unknown>> = [];

  before(async () => {
    db = await mongoose.createConnection(withDb(requireServices().mongoUri, uniqueDbName('convstate')), { monitorCommands: true }).asPromise();
    db.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'update') for (const u of (e.command.updates as Array<{ q: Record<string, unknown> }>)) filters.push(u.q);
    });
    repo = new ConversationStateRepository(db, 7 * DAY_MS);
  });

  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await db.close();
  });

  test('when a conversation is first seen, then its window starts at that message', async () => {
    const at = new Date('2026-03-01T10:00:00Z');
    await repo.noteInbound('c1', '101', at, 'wamid.A');
    assert.deepEqual(await repo.get('c1', '101'), { lastInboundAt: at, lastInboundExternalId: 'wamid.A' });
  });

  test('when a newer message (or one of the same second) arrives, then the window moves to it', async () => {
    await repo.noteInbound('c1', '102', new Date('2026-03-01T10:00:00Z'), 'wamid.B1');
    await repo.noteInbound('c1', '102', new Date('2026-03-01T10:05:00Z'), 'wamid.B2');
    await repo.noteInbound('c1', '102', new Date('2026-03-01T10:05:00Z'), 'wamid.B3');
    assert.deepEqual(await repo.get('c1', '102'), { lastInboundAt: new Date('2026-03-01T10:05:00Z'), lastInboundExternalId: 'wamid.B3' });
  });

  test('when an older message is forwarded late, then the window does not move back', async () => {
    await repo.noteInbound('c1', '103', new Date('2026-03-01T12:00:00Z'), 'wamid.NEW');
    await repo.noteInbound('c1', '103', new Date('2026-03-01T09:00:00Z'), 'wamid.OLD');
    assert.deepEqual(await repo.get('c1', '103'), { lastInboundAt: new Date('2026-03-01T12:00:00Z'), lastInboundExternalId: 'wamid.NEW' });
  });

  test('when the window is written, then the update filters on _id alone', () => {
    assert.ok(filters.length > 0);
    for (const q of filters) assert.deepEqual(Object.keys(q), ['_id']);
  });
});
