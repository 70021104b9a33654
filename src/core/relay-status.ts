/**
 * Meta's delivery statuses → what the agent sees. Each status is merged into the record of the Meta message it
 * concerns (forward only; failed is final); the platform message then shows the aggregate of its parts. A
 * status for a send not yet recorded is held and applied when the send is recorded.
 */
import type { StatusEvent } from './events';
import type { ConnectionRecord } from '../store/connections';
import type { DeliveryRepository } from '../store/deliveries';
import type { HeldStatusRepository } from '../store/held-statuses';
import type { Platform } from '../platforms/platform';
import { aggregateStatus, type TrackedStatus } from './status-merge';

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
    return this.merge(conn, event.externalId, event.status, reason);
  }

  /** Called right after a send is recorded: statuses that raced ahead of it are applied now. */
  async releaseHeld(conn: ConnectionRecord, externalId: string): Promise<void> {
    for (const held of await this.deps.held.take(conn.id, externalId)) {
      await this.merge(conn, externalId, held.status, held.error);
    }
  }

  private async merge(conn: ConnectionRecord, externalId: string, status: TrackedStatus, reason?: string): Promise<StatusOutcome> {
    const before = await this.deps.deliveries.findByExternalId(conn.id, externalId);
    if (!before || before.direction !== 'outbound') {
      if (status !== 'pending') await this.deps.held.hold(conn.id, externalId, status, reason);
      return 'held';
    }
    const partsBefore = await this.deps.deliveries.partsOf(conn.id, before.platformMessageId);
    const aggregateBefore = aggregateStatus(partsBefore.map((p) => p.status as TrackedStatus));
    const after = await this.deps.deliveries.mergeStatus(conn.id, externalId, status, reason);
    if (!after) return 'held';
    const parts = await this.deps.deliveries.partsOf(conn.id, before.platformMessageId);
    const aggregate = aggregateStatus(parts.map((p) => p.status as TrackedStatus));
    if (aggregate === aggregateBefore || aggregate === 'pending') return 'unchanged';
    const failedPart = parts.find((p) => p.status === 'failed');
    await this.deps.platformFor(conn).updateStatus(
      conn,
      { conversationId: before.platformConversationId, messageId: before.platformMessageId },
      aggregate,
      aggregate === 'failed' ? (failedPart?.error ?? reason) : undefined,
    );
    return 'applied';
  }
}
