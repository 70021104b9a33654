/**
 * Replaying a dead letter: an admin's explicit "try this again now", after fixing what made it fail.
 *
 * The work goes back into the lane it came from, under its old id, and the dead letter is deleted once Redis holds
 * it (a crash in between leaves the dead letter: replaying it again is safe, see below).
 *
 * Order. Dead-lettering lets a customer's later messages through instead of stalling the conversation behind a
 * message that may never go; so by the time of a replay they are on the platform. In the lane the replayed event
 * keeps its Meta timestamp, ahead of that customer's entries still waiting and behind nothing already done, but on
 * the platform it appears now, after the later messages (Chatwoot orders by arrival). That is the admin's call and
 * the reason a replay is never automatic. A replayed reply likewise goes out after the agent's later replies, and
 * only if the customer's window is still open (else it fails again, visibly, with the window's reason).
 *
 * Exactly once. The relays' idempotency claims are prepared first (InboundRelay/OutboundRelay.prepareReplay):
 * a customer event is forwarded with a look on the platform first, so one that reached it after all is not shown
 * twice, and one forwarded since (Meta redelivered it) is not queued at all; a reply skips the parts it already
 * sent. Statuses, receipts and "conversation resolved" are idempotent by themselves.
 */
import type { ConnectionRecord } from '../store/connections';
import type { DeadLetter, DeadLetterRepository } from '../store/dead-letters';
import type { InboundRelay } from '../core/relay-inbound';
import type { OutboundRelay } from '../core/relay-outbound';
import type { LanePayload } from './pipeline';
import { maskPhone } from '../log/redact';

/** Why a dead letter cannot be replayed; the admin API answers 409 with the message. */
export class ReplayRefused extends Error {
  override name = 'ReplayRefused';
}

/** queued: back in its lane; already_delivered: a later delivery of the same event got through, nothing queued. */
export type ReplayOutcome = 'queued' | 'already_delivered';

export interface DeadLetterReplayDeps {
  deadLetters: DeadLetterRepository;
  connectionById(id: string): Promise<ConnectionRecord | null>;
  requeue(payload: LanePayload, eventId: string): Promise<void>;
  relay: Pick<InboundRelay, 'prepareReplay'>;
  outbound: Pick<OutboundRelay, 'prepareReplay'>;
  /** RETENTION_DELIVERY_RECORD_DAYS in ms: how long the records that keep a reply's parts from going twice last. */
  deliveryRecordMs: number;
}

export class DeadLetterReplayer {
  constructor(private readonly deps: DeadLetterReplayDeps) {}

  /** Throws ReplayRefused when it cannot be replayed, QueueUnavailable when Redis does not take it. */
  async replay(letter: DeadLetter, now = Date.now()): Promise<ReplayOutcome> {
    const payload = letter.replayable ? await this.deps.deadLetters.payloadOf<LanePayload>(letter.id) : undefined;
    if (!payload) throw new ReplayRefused('this dead letter was kept without its content (written by an older version); it can only be discarded');
    const conn = await this.deps.connectionById(payload.connectionId);
    if (!conn) throw new ReplayRefused('its connection was deleted; it can only be discarded');
    const outcome = await this.prepare(conn, payload, now);
    if (outcome === 'queued') await this.deps.requeue({ ...payload, replayedAt: now }, letter.eventId);
    await this.deps.deadLetters.remove(letter.id);
    return outcome;
  }

  private async prepare(conn: ConnectionRecord, payload: LanePayload, now: number): Promise<ReplayOutcome> {
    if (payload.direction === 'inbound') {
      const { event } = payload;
      if (event.kind === 'status' || event.kind === 'watermark') return 'queued';
      return (await this.deps.relay.prepareReplay(conn, event)) === 'already_forwarded' ? 'already_delivered' : 'queued';
    }
    const { command } = payload;
    if (command.kind === 'typing') {
      // "The agent is typing" shown to the customer minutes or days later would be untrue.
      throw new ReplayRefused('a typing indicator is only meaningful when it happens; it can only be discarded');
    }
    if (command.kind === 'reply') {
      if (now - payload.receivedAt >= this.deps.deliveryRecordMs) {
        throw new ReplayRefused('this reply is older than the delivery records (RETENTION_DELIVERY_RECORD_DAYS) that keep its parts from being sent twice; ask the agent to send it again');
      }
      await this.deps.outbound.prepareReplay(conn, command);
    }
    return 'queued';
  }
}

/**
 * What a dead letter was about, for an admin deciding whether to replay it: ids, kinds and counts only. Never the
 * text, never a full phone number (masked to the last four digits), never an attachment URL.
 */
export function describeWork(payload: LanePayload): Record<string, string | number | boolean> {
  const since = { receivedAt: new Date(payload.receivedAt).toISOString() };
  if (payload.direction === 'outbound') {
    const { command } = payload;
    const base = { ...since, platformConversationId: command.platformConversationId };
    if (command.kind === 'reply') {
      return {
        ...base, platformMessageId: command.platformMessageId, recipient: maskPhone(command.recipient.id),
        hasText: Boolean(command.reply.content), attachments: command.reply.attachments.length,
        ...(command.reply.template ? { template: command.reply.template.name } : {}),
      };
    }
    if (command.kind === 'conversation_resolved') return { ...base, recipient: maskPhone(command.recipient.id) };
    return { ...base, typing: command.on };
  }
  const { event } = payload;
  const base = { ...since, channel: event.channel, externalId: event.externalId, metaTimestamp: new Date(event.timestamp).toISOString() };
  switch (event.kind) {
    case 'status':
      return { ...base, status: event.status, recipient: maskPhone(event.recipient.id) };
    case 'watermark':
      return { ...base, status: event.status, customer: maskPhone(event.customer.id) };
    case 'message':
    case 'echo':
      return { ...base, customer: maskPhone(event.customer.id), messageType: event.originalType, attachments: event.attachments.length };
    default:
      return { ...base, customer: maskPhone(event.customer.id), targetExternalId: event.targetExternalId };
  }
}
