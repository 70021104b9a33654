/**
 * Erasure on demand: what the bridge holds for a deleted connection, or for one end user of a connection, goes —
 * queued work in Redis, records and mappings in MongoDB — and, when the tenant asked for it, the user's contact on
 * the platform. Used by connection delete, tenant delete, POST /admin/erasure and the CLI's erase-user.
 *
 * Order: queued work first (nothing new is forwarded for them), then the records, then the queue again with
 * everything the records revealed (an agent's reply queued under a conversation id), and the records once more
 * (a drain job that was mid-way when erasure began may have written one after the first pass). Every step is
 * idempotent, so erasing twice is harmless, and a failure can simply be retried.
 *
 * Reports hold counts and outcomes only, never the ids erased: they go into audit events and API answers.
 */
import type { ConnectionRecord } from '../store/connections';
import type { ContactErasure, Platform } from '../platforms/platform';
import type { LanePayload } from '../queue/pipeline';
import type { LaneErasure } from '../queue/lane-eraser';
import { payloadConcerns } from '../queue/lane-eraser';
import { conversationLane, customerLane } from '../queue/pipeline';
import type { RecordEraser, RemovedCounts } from './record-erasure';
import type { Logger } from '../log/logger';
import { errorMessage } from './errors';

/** The part of the lane eraser (src/queue/lane-eraser.ts) erasure uses. */
export interface QueuedWorkEraser {
  eraseConnection(connectionId: string): Promise<LaneErasure>;
  eraseCustomer(connectionId: string, concerns: (payload: LanePayload) => boolean, lanes: string[]): Promise<LaneErasure>;
}

export interface EraserDeps {
  records: RecordEraser;
  queue: QueuedWorkEraser;
  platformFor(conn: ConnectionRecord): Platform;
  log: Logger;
}

export interface QueueCounts {
  entries: number;
  jobs: number;
  /** Lanes a running drain job still held when erasure stopped waiting; only a counter is left, expiring on its own. */
  busyLanes: number;
}

export interface ConnectionErasureReport {
  removed: RemovedCounts;
  queue: QueueCounts;
}

export type PlatformErasure = ContactErasure | { outcome: 'skipped'; note: string } | { outcome: 'failed'; note: string };

export interface CustomerErasureReport {
  removed: RemovedCounts;
  queue: QueueCounts;
  /** How many ids the customer turned out to be known by (phone and BSUID: 2). Never the ids themselves. */
  idsFound: number;
  conversationsFound: number;
  platform: PlatformErasure;
}

const PHONE_LIKE = /^\+?[\d\s().-]+$/;

/**
 * The id an admin typed, as the channel spells it: phone numbers become the digits WhatsApp uses as wa_id
 * ("+49 151 2345-678" → "491512345678"), as do PSIDs and IGSIDs (digits already); a BSUID ("US.1349…") is kept.
 */
export function normalizeCustomerId(input: string): string {
  const trimmed = input.trim();
  return PHONE_LIKE.test(trimmed) ? trimmed.replace(/\D/g, '') : trimmed;
}

function addCounts(into: RemovedCounts, more: RemovedCounts): RemovedCounts {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
  return into;
}

function addQueue(into: QueueCounts, more: LaneErasure): QueueCounts {
  return { entries: into.entries + more.entries, jobs: into.jobs + more.jobs, busyLanes: more.busyLanes };
}

export class Eraser {
  constructor(private readonly deps: EraserDeps) {}

  /** After the connection document is gone (with its tokens): its queued work, then every record. */
  async eraseConnection(conn: ConnectionRecord): Promise<ConnectionErasureReport> {
    const queued = await this.deps.queue.eraseConnection(conn.id);
    const removed = await this.deps.records.eraseConnection(conn.id);
    // A drain job that was running may have written a record before it saw its lane empty.
    addCounts(removed, await this.deps.records.eraseConnection(conn.id));
    this.deps.log.info('connection erased', { connectionId: conn.id, queued: queued.entries, records: total(removed) });
    return { removed, queue: addQueue({ entries: 0, jobs: 0, busyLanes: 0 }, queued) };
  }

  async eraseCustomer(conn: ConnectionRecord, customerId: string, opts: { eraseContact: boolean }): Promise<CustomerErasureReport> {
    const given = normalizeCustomerId(customerId);
    const ids = new Set([given]);
    const conversations = new Set<string>();
    const concerns = (p: LanePayload) => p.connectionId === conn.id && payloadConcerns(p, { ids, conversations });
    const lanesOf = () => [
      ...[...ids].map((id) => customerLane(conn.id, id)),
      ...[...conversations].map((c) => conversationLane(conn.id, c)),
    ];

    let queue: QueueCounts = { entries: 0, jobs: 0, busyLanes: 0 };
    const first = await this.deps.queue.eraseCustomer(conn.id, concerns, lanesOf());
    queue = addQueue(queue, first);
    const pass = await this.deps.records.eraseCustomer(conn.id, [given], first.removed);
    const removed = pass.counts;
    for (const id of pass.footprint.ids) ids.add(id);
    for (const c of pass.footprint.conversationIds) conversations.add(c);
    const second = await this.deps.queue.eraseCustomer(conn.id, concerns, lanesOf());
    queue = addQueue(queue, second);
    const again = await this.deps.records.eraseCustomer(conn.id, [...ids], second.removed);
    addCounts(removed, again.counts);
    for (const id of again.footprint.ids) ids.add(id);
    for (const c of again.footprint.conversationIds) conversations.add(c);

    const footprint = {
      ids: [given, ...[...ids].filter((id) => id !== given)],
      contactIds: [...new Set([...pass.footprint.contactIds, ...again.footprint.contactIds])],
      conversationIds: [...conversations],
    };
    const platform = await this.erasePlatformContact(conn, footprint, opts.eraseContact);
    this.deps.log.info('end user erased', { connectionId: conn.id, records: total(removed), queued: queue.entries, platform: platform.outcome });
    return { removed, queue, idsFound: footprint.ids.length, conversationsFound: footprint.conversationIds.length, platform };
  }

  private async erasePlatformContact(conn: ConnectionRecord, customer: { ids: string[]; contactIds: string[]; conversationIds: string[] }, wanted: boolean): Promise<PlatformErasure> {
    if (!wanted) return { outcome: 'skipped', note: "the tenant's privacy settings keep platform contacts (eraseContactsOnPlatform is off)" };
    const platform = this.deps.platformFor(conn);
    if (!platform.eraseContact) return { outcome: 'skipped', note: `the ${platform.kind} platform adapter cannot erase contacts` };
    try {
      return await platform.eraseContact(conn, customer);
    } catch (err) {
      // The bridge's own part is done; the platform's can be asked again (erasing twice is harmless).
      this.deps.log.warn('erasing the platform contact failed', { connectionId: conn.id, reason: errorMessage(err) });
      return { outcome: 'failed', note: `${errorMessage(err)} — the bridge's own records are erased; erase again to retry the platform` };
    }
  }
}

export function total(counts: RemovedCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
