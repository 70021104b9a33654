/**
 * A status that arrives before its send is recorded is held (src/core/relay-status.ts), and the send's
 * releaseHeld applies it. When the send is recorded between the status's read and its hold, releaseHeld finds
 * nothing yet: the status side must then apply it itself, or the agent never sees it. The repositories here are
 * in memory so the interleaving can be forced.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusRelay } from '../../src/core/relay-status';
import type { DeliveryRepository, DeliveryRecord } from '../../src/store/deliveries';
import type { HeldStatusRepository } from '../../src/store/held-statuses';
import type { ConnectionRecord } from '../../src/store/connections';
import type { Platform } from '../../src/platforms/platform';
import type { StatusEvent } from '../../src/core/events';
import { statusRank, type TrackedStatus } from '../../src/core/status-merge';

const conn = { id: 'con_1' } as ConnectionRecord;

function world() {
  const records = new Map<string, DeliveryRecord & { shown?: TrackedStatus }>();
  const held = new Map<string, Array<{ status: TrackedStatus; error?: string }>>();
  const shown: string[] = [];
  /** Runs once, right after the status side's first read: the send is recorded in that gap. */
  let afterFirstRead: (() => void) | undefined;
  const deliveries = {
    findByExternalId: async (_c: string, id: string) => {
      const found = records.get(id) ?? null;
      const hook = afterFirstRead;
      afterFirstRead = undefined;
      hook?.();
      return found;
    },
    mergeStatus: async (_c: string, id: string, status: TrackedStatus) => {
      const r = records.get(id);
      if (!r) return null;
      if (statusRank(status) > statusRank(r.status as TrackedStatus)) r.status = status;
      return r;
    },
    partsOf: async (_c: string, pm: string) => [...records.values()].filter((r) => r.platformMessageId === pm),
    markShown: async (_c: string, pm: string, status: TrackedStatus) => { for (const r of records.values()) if (r.platformMessageId === pm) r.shown = status; },
  } as unknown as DeliveryRepository;
  const heldRepo = {
    hold: async (_c: string, id: string, status: TrackedStatus, error?: string) => { held.set(id, [...(held.get(id) ?? []), { status, error }]); },
    take: async (_c: string, id: string) => { const h = held.get(id) ?? []; held.delete(id); return h; },
  } as unknown as HeldStatusRepository;
  const platform = {
    updateStatus: async (_c: ConnectionRecord, ref: { messageId: string }, status: string) => { shown.push(`${ref.messageId}:${status}`); },
    reportFailure: async (_c: ConnectionRecord, ref: { messageId: string }) => { shown.push(`${ref.messageId}:failed`); },
  } as unknown as Platform;
  const relay = new StatusRelay({ deliveries, held: heldRepo, platformFor: () => platform, describe: () => 'reason' });
  const record = (externalId: string) => records.set(externalId, {
    connectionId: conn.id, direction: 'outbound', externalId, part: 0, platformConversationId: '7', platformMessageId: '42', status: 'pending',
    createdAt: new Date(), expiresAt: new Date(Date.now() + 86_400_000),
  } as DeliveryRecord);
  return { relay, record, held, shown, gap: (fn: () => void) => { afterFirstRead = fn; } };
}

const status = (externalId: string, value: 'sent' | 'delivered' | 'read'): StatusEvent => ({
  channel: 'whatsapp', businessId: '1065', externalId, timestamp: Date.now(), kind: 'status', status: value, recipient: { id: '15551234567' }, errors: [],
});

describe('a status that races its send', () => {
  test('when the send is recorded (and its held statuses released) between the status\'s read and its hold, then the status side applies it', async () => {
    const w = world();
    // The sender records the send and releases what is held (nothing yet) in the gap.
    w.gap(() => { w.record('wamid.A'); });
    assert.equal(await w.relay.apply(conn, status('wamid.A', 'read')), 'applied');
    assert.deepEqual(w.shown, ['42:read']);
    assert.equal(w.held.size, 0, 'nothing left held');
  });

  test('when the send is still not recorded, then the status stays held, and the send\'s releaseHeld applies it later', async () => {
    const w = world();
    assert.equal(await w.relay.apply(conn, status('wamid.B', 'delivered')), 'held');
    assert.deepEqual(w.shown, []);
    w.record('wamid.B');
    await w.relay.releaseHeld(conn, 'wamid.B');
    assert.deepEqual(w.shown, ['42:delivered']);
  });
});
