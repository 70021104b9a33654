/**
 * The routing cache in front of the connections collection (core/connection-directory.ts): one database read per
 * key and TTL, shared by every caller while it is in flight; misses kept briefly; failures not kept.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionDirectory } from '../../src/core/connection-directory';
import type { ConnectionRecord, ConnectionRepository } from '../../src/store/connections';

function fakeRepo(answer: () => Promise<ConnectionRecord | null>) {
  const calls: string[] = [];
  const repo = {
    findById: (id: string) => { calls.push(`id:${id}`); return answer(); },
    findByBusinessId: (channel: string, businessId: string) => { calls.push(`${channel}:${businessId}`); return answer(); },
  } as unknown as ConnectionRepository;
  return { repo, calls };
}

const conn = { id: 'con_1' } as ConnectionRecord;

describe('connection directory', () => {
  test('when many lookups of one key arrive while the first read is in flight, then the database is read once', async () => {
    let release!: (v: ConnectionRecord) => void;
    const { repo, calls } = fakeRepo(() => new Promise((r) => { release = r; }));
    const directory = new ConnectionDirectory(repo);
    const lookups = Array.from({ length: 50 }, () => directory.byBusinessId('whatsapp', '1065', 1_000));
    release(conn);
    assert.deepEqual(await Promise.all(lookups), Array(50).fill(conn));
    assert.deepEqual(calls, ['whatsapp:1065']);
  });

  test('when the TTL has passed, then the next lookup reads again; a miss is kept for the shorter miss TTL', async () => {
    const { repo, calls } = fakeRepo(async () => null);
    const directory = new ConnectionDirectory(repo, 30_000, 5_000);
    assert.equal(await directory.byId('gone', 0), null);
    assert.equal(await directory.byId('gone', 4_999), null);
    assert.equal(calls.length, 1);
    await directory.byId('gone', 5_001);
    assert.equal(calls.length, 2);
  });

  test('when a read fails, then it is not cached and the next lookup reads again', async () => {
    let fail = true;
    const { repo, calls } = fakeRepo(async () => { if (fail) throw new Error('database down'); return conn; });
    const directory = new ConnectionDirectory(repo);
    await assert.rejects(directory.byId('con_1', 0), /database down/);
    await new Promise((r) => setImmediate(r));
    fail = false;
    assert.equal(await directory.byId('con_1', 1), conn);
    assert.equal(calls.length, 2);
  });
});
