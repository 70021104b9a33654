/**
 * Customer profiles (Messenger/Instagram names and pictures): fetched once, a failure never holds a message back,
 * retried after a growing pause, and a late success is flagged so the platform contact gets updated.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ProfileResolver, profileRetryDelayMs, type CustomerProfile } from '../../src/core/profiles';
import type { ProfileFetch, ProfileStateRepository } from '../../src/store/profiles';
import type { ConnectionRecord } from '../../src/store/connections';
import { createLogger } from '../../src/log/logger';

class MemoryState {
  readonly rows = new Map<string, ProfileFetch>();
  async get(_c: string, id: string) { return this.rows.get(id) ?? null; }
  async fetched(_c: string, id: string) { this.rows.set(id, { state: 'fetched', failures: 0 }); }
  async failed(_c: string, id: string, failures: number, retryAt: Date) { this.rows.set(id, { state: 'failed', failures, retryAt }); }
}

const log = createLogger({ level: 'error', stream: new PassThrough() });
const conn = { id: 'con_1', channel: 'messenger' } as ConnectionRecord;

function resolver(fetch: ((id: string) => Promise<CustomerProfile>) | undefined) {
  const state = new MemoryState();
  const calls: string[] = [];
  const r = new ProfileResolver({
    state: state as unknown as ProfileStateRepository,
    fetcher: () => (fetch ? (id: string) => { calls.push(id); return fetch(id); } : undefined),
  });
  return { r, state, calls };
}

describe('profile resolver', () => {
  test('when the channel has no profile lookup (WhatsApp), then the customer passes through and nothing is stored', async () => {
    const { r, state } = resolver(undefined);
    assert.deepEqual(await r.resolve(conn, { id: '1' }, log), { customer: { id: '1' }, late: false });
    assert.equal(state.rows.size, 0);
  });

  test('when the profile is fetched, then the customer has name, username and picture, and it is never fetched again', async () => {
    const { r, calls } = resolver(async () => ({ name: 'Bea Costa', username: 'bea', avatarUrl: 'https://cdn/b.jpg' }));
    const first = await r.resolve(conn, { id: '42' }, log);
    assert.deepEqual(first, { customer: { id: '42', name: 'Bea Costa', username: 'bea', avatarUrl: 'https://cdn/b.jpg' }, late: false });
    assert.deepEqual(await r.resolve(conn, { id: '42' }, log), { customer: { id: '42' }, late: false });
    assert.deepEqual(calls, ['42']);
  });

  test('when the fetch fails, then the id is kept, the retry waits, and a later success is flagged late', async () => {
    let fail = true;
    const { r, state, calls } = resolver(async () => {
      if (fail) throw new Error('Graph 500');
      return { name: 'Late Name' };
    });
    const t0 = new Date('2026-01-01T00:00:00Z');
    assert.deepEqual(await r.resolve(conn, { id: '7' }, log, t0), { customer: { id: '7' }, late: false });
    assert.equal(state.rows.get('7')?.state, 'failed');
    fail = false;
    assert.deepEqual(await r.resolve(conn, { id: '7' }, log, new Date(t0.getTime() + 60_000)), { customer: { id: '7' }, late: false }, 'not before the pause');
    assert.equal(calls.length, 1);
    const later = await r.resolve(conn, { id: '7' }, log, new Date(t0.getTime() + profileRetryDelayMs(1)));
    assert.deepEqual(later, { customer: { id: '7', name: 'Late Name' }, late: true });
  });

  test('the pause grows from 5 minutes and stops at a day', () => {
    assert.deepEqual([1, 2, 3, 20].map(profileRetryDelayMs), [300_000, 600_000, 1_200_000, 86_400_000]);
  });
});
