/**
 * Meta's delivery statuses → what the agent sees. Each status is merged into the record of the Meta message it
 * concerns (forward only; failed is final); the platform message then shows the aggregate of its parts. A
 * status for a send not yet recorded is held and applied when the send is recorded.
 */
import type { StatusEvent, WatermarkEvent } from './events';
import type { ConnectionRecord } from '../store/connections';
import { DeliveryRepository } from '../store/deliveries';
import type { HeldStatusRepository } from '../store/held-statuses';
import type { Platform } from '../platforms/platform';
import { aggregateStatus, statusRank, type TrackedStatus } from './status-merge';

export type StatusOutcome = 'applied' | 'held' | 'unchanged';

export class StatusRelay {
  constructor(
    private readonly deps: {
      deliveries: DeliveryRepository;
      held: HeldStatusRepository;
      platformFor: (conn: ConnectionRecord) => Platform;
      describe: (conn: ConnectionRecord, code: number, title?: string, details?: string) => string;
    },
  ) {}

  async apply(conn: ConnectionRecord, event: StatusEvent): Promise<StatusOutcome> {
    const first = event.errors[0];
    const reason = event.status === 'failed'
      ? (first ? this.deps.describe(conn, first.code, first.title, first.details ?? first.message) : 'WhatsApp reported the message as failed without a reason')
      : undefined;
    return this.merge(conn, event.externalId, event.status, reason, DeliveryRepository.customerKeyOf(conn.id, event.recipient.id));
  }

  /**
   * A receipt that covers the conversation up to a moment (Messenger watermarks, Instagram's seen receipt): every
   * outgoing message to this customer sent by then, and every message it names, takes the status. Instagram names
   * only the message seen; the moment is then when that message was sent (or, unknown to the bridge, the receipt's
   * own time: the customer saw the thread as it stood then).
   */
  async applyWatermark(conn: ConnectionRecord, event: WatermarkEvent): Promise<StatusOutcome> {
    const { deliveries } = this.deps;
    const named = (await Promise.all(event.externalIds.map((id) => deliveries.findByExternalId(conn.id, id))))
      .filter((r): r is NonNullable<typeof r> => r?.direction === 'outbound');
    const upTo = event.upTo ?? Math.max(...named.map((r) => (r.sentAt ?? r.createdAt).getTime()), named.length > 0 ? 0 : event.timestamp);
    const covered = await deliveries.outboundUpTo(conn.id, DeliveryRepository.customerKeyOf(conn.id, event.customer.id), new Date(upTo), event.status);
    const externalIds = new Set([...covered, ...named].map((r) => r.externalId));
    let outcome: StatusOutcome = 'unchanged';
    for (const externalId of externalIds) {
      if ((await this.merge(conn, externalId, event.status)) === 'applied') outcome = 'applied';
    }
    return outcome;
  }

  /** Called right after a send is recorded: statuses that raced ahead of it are applied now. */
  async releaseHeld(conn: ConnectionRecord, externalId: string): Promise<void> {
    for (const held of await this.deps.held.take(conn.id, externalId)) {
      await this.merge(conn, externalId, held.status, held.error);
    }
  }

  /** `customerKey`: whom the message went to, kept with a held status so erasing that customer finds it. */
  private async merge(conn: ConnectionRecord, externalId: string, status: TrackedStatus, reason?: string, customerKey?: string): Promise<StatusOutcome> {
    const before = await this.deps.deliveries.findByExternalId(conn.id, externalId);
    if (!before || before.direction !== 'outbound') {
      if (status === 'pending') return 'held';
      await this.deps.held.hold(conn.id, externalId, status, reason, customerKey);
      // The send may have been recorded between the read above and the hold, its releaseHeld finding nothing
      // then: read again, so that one of the two sides always applies what is held.
      const recorded = await this.deps.deliveries.findByExternalId(conn.id, externalId);
      if (recorded?.direction !== 'outbound') return 'held';
      await this.releaseHeld(conn, externalId);
      return 'applied';
    }
    const after = await this.deps.deliveries.mergeStatus(conn.id, externalId, status, reason);
    if (!after) return 'held';
    const parts = await this.deps.deliveries.partsOf(conn.id, before.platformMessageId);
    const aggregate = aggregateStatus(parts.map((p) => p.status as TrackedStatus));
    // Compared with what the platform was last told, not with the record before this merge: when telling the
    // platform failed, the retry of this status finds the record already merged and must still tell it.
    const shown = parts.find((p) => p.shown)?.shown ?? 'pending';
    if (aggregate === 'pending' || statusRank(aggregate) <= statusRank(shown)) return 'unchanged';
    const platform = this.deps.platformFor(conn);
    const ref = { conversationId: before.platformConversationId, messageId: before.platformMessageId };
    if (aggregate === 'failed') {
      const failedPart = parts.find((p) => p.status === 'failed');
      await platform.reportFailure(conn, ref, failedPart?.error ?? reason ?? 'the message could not be delivered');
    } else {
      await platform.updateStatus(conn, ref, aggregate);
    }
    await this.deps.deliveries.markShown(conn.id, before.platformMessageId, aggregate);
    return 'applied';
  }
}
