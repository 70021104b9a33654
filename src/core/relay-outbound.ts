/**
 * Agent replies → Meta. One reply may become several Meta messages (text, each attachment); each part is
 * recorded as soon as Meta accepts it, so a retried job never sends a part twice. What cannot succeed fails at
 * once, visibly, with a reason the agent can act on; what can is retried by the queue.
 */
import type { ReplyCommand, TypingCommand, ConversationResolvedCommand } from './outbound';
import type { ChannelKind } from './events';
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';
import { InboundKeyRepository } from '../store/inbound-keys';
import { DeliveryRepository } from '../store/deliveries';
import type { ConversationStateRepository } from '../store/conversation-state';
import type { Platform } from '../platforms/platform';
import type { ChannelRegistry, OutboundPart } from '../channels/channel';
import type { StatusRelay } from './relay-status';
import type { Logger } from '../log/logger';
import { PermanentError, RetryableError, errorMessage, mayHaveBeenCarriedOut } from './errors';
import { earlierSendOf, type EarlierSendSettings } from './earlier-send';
import type { SendLedger } from '../queue/send-ledger';
import { persistAfterSend } from './persist-after-send';

export type ReplyOutcome = 'sent' | 'duplicate' | 'failed';

const CHANNEL_NAMES: Readonly<Record<ChannelKind, string>> = { whatsapp: 'WhatsApp', messenger: 'Messenger', instagram: 'Instagram' };

export interface OutboundSettings {
  markReadOnReply: boolean;
  /** How long a send's record is retried after Meta accepted the send (persist-after-send.ts); keep it under the claim lease. */
  persistWithinMs?: number;
}

export class OutboundRelay {
  constructor(
    private readonly deps: {
      keys: InboundKeyRepository;
      deliveries: DeliveryRepository;
      conversations: ConversationStateRepository;
      connections: ConnectionRepository;
      channels: ChannelRegistry;
      statuses: StatusRelay;
      /**
       * Sends whose answer may have been lost (src/queue/send-ledger.ts), and how a retry waits for Meta's status
       * naming one (earlier-send.ts). Absent: a retry sends such a part again.
       */
      sentOnce?: { ledger: SendLedger; wait: EarlierSendSettings };
      platformFor: (conn: ConnectionRecord) => Platform;
      settings: OutboundSettings;
      onReauthNeeded: (conn: ConnectionRecord) => void;
    },
  ) {}

  static keyOf(conn: Pick<ConnectionRecord, 'id'>, platformMessageId: string): string {
    return InboundKeyRepository.key(conn.id, `out:${platformMessageId}`);
  }

  async reply(conn: ConnectionRecord, cmd: ReplyCommand, log: Logger, now = Date.now()): Promise<ReplyOutcome> {
    const { keys } = this.deps;
    const key = OutboundRelay.keyOf(conn, cmd.platformMessageId);
    const claim = await keys.claim(key);
    if (claim === 'done') return 'duplicate';
    if (claim === 'busy') throw new RetryableError('another worker is sending this reply right now', 5_000);
    try {
      await this.sendParts(conn, cmd, log, now, claim === 'fresh');
      await keys.markDone(key);
      return 'sent';
    } catch (err) {
      const channel = this.deps.channels.forKind(conn.channel);
      const failure = err instanceof PermanentError || !(err instanceof RetryableError)
        ? channel.outbound.describeFailure(err, conn)
        : undefined;
      if (failure && !failure.retryable) {
        // The report can fail (the platform is down): the claim is released so the retry does not wait out a lease.
        // The connection's state changes before the agent is told, so whoever reads the failure sees it.
        if (failure.reauth) await this.needsReauth(conn);
        await this.fail(conn, cmd, failure.text, log).catch(async (reportErr: unknown) => {
          await keys.endLease(key).catch(() => undefined);
          throw reportErr;
        });
        await keys.markDone(key);
        return 'failed';
      }
      await keys.endLease(key).catch(() => undefined);
      throw failure?.retryable ? new RetryableError(failure.text) : err;
    }
  }

  /** Retries ran out: the agent sees the last reason. */
  async giveUp(conn: ConnectionRecord, cmd: ReplyCommand, err: unknown, log: Logger): Promise<void> {
    const failure = this.deps.channels.forKind(conn.channel).outbound.describeFailure(err, conn);
    await this.fail(conn, cmd, `${failure.text} (gave up after several attempts)`, log);
    await this.deps.keys.markDone(OutboundRelay.keyOf(conn, cmd.platformMessageId));
  }

  /**
   * Before an admin replays a dead-lettered reply. giveUp() marked its claim done once the agent was told, so the
   * claim is reopened (even when done) and reply() resumes as a retry would: parts recorded as sent are skipped,
   * only the rest go to Meta. What this cannot see is a part Meta accepted whose answer never came (Graph has no
   * idempotency key): the same risk as any retry. The part records expire with RETENTION_DELIVERY_RECORD_DAYS,
   * which is why a reply older than that is not replayed (DeadLetterReplayer).
   */
  async prepareReplay(conn: ConnectionRecord, cmd: ReplyCommand): Promise<void> {
    await this.deps.keys.reopen(OutboundRelay.keyOf(conn, cmd.platformMessageId), { evenIfDone: true });
  }

  async typing(conn: ConnectionRecord, cmd: TypingCommand): Promise<void> {
    const channel = this.deps.channels.forKind(conn.channel);
    if (!cmd.on || !channel.outbound.markRead) return;
    const state = await this.deps.conversations.get(conn.id, cmd.platformConversationId);
    if (!state || !this.insideWindow(state.lastInboundAt.getTime(), channel.outbound.replyWindowHours, Date.now())) return;
    await channel.outbound.markRead(conn, state.lastInboundExternalId, true);
  }

  async conversationResolved(conn: ConnectionRecord, cmd: ConversationResolvedCommand): Promise<void> {
    await this.deps.platformFor(conn).forgetConversation(conn, [cmd.recipient.id, ...(cmd.recipient.phone ? [cmd.recipient.phone] : [])]);
  }

  private insideWindow(lastInboundMs: number, hours: number, now: number): boolean {
    return now - lastInboundMs < hours * 3600 * 1000;
  }

  /** `firstAttempt`: nobody tried this reply before, so no part can have been recorded yet (one read spared). */
  private async sendParts(conn: ConnectionRecord, cmd: ReplyCommand, log: Logger, now: number, firstAttempt: boolean): Promise<void> {
    const { deliveries, conversations, statuses } = this.deps;
    const channel = this.deps.channels.forKind(conn.channel);
    if (cmd.reply.templateError) throw new PermanentError(cmd.reply.templateError);
    if (conn.health === 'needs_reauth') {
      throw new PermanentError(`The ${CHANNEL_NAMES[conn.channel]} connection needs re-authorisation: an administrator must reconnect it before replies can be sent.`);
    }
    if (conn.health === 'disconnected') {
      throw new PermanentError(`The ${CHANNEL_NAMES[conn.channel]} connection is disconnected: the Meta account that granted access removed the app, so the bridge deleted its token. An administrator must connect it again before replies can be sent.`);
    }
    const state = await conversations.get(conn.id, cmd.platformConversationId);
    const windowHours = channel.outbound.replyWindowHoursFor?.(conn) ?? channel.outbound.replyWindowHours;
    if (!cmd.reply.template && !(state && this.insideWindow(state.lastInboundAt.getTime(), windowHours, now))) {
      // The platform shows a customer message a moment before the bridge notes it (relay-inbound.ts): a reply
      // that fast (a bot) would look outside the window. So the first try looks again shortly before failing.
      if (firstAttempt) throw new RetryableError('the conversation looks outside the reply window; looking again in case the customer has just written', 2_000);
      // Fail here, with the channel's hint (WhatsApp: send a template), instead of a round trip Meta would refuse.
      throw new PermanentError(channel.outbound.windowClosedReason(conn));
    }
    const replyTo = await this.resolveReplyTo(conn, cmd);
    const parts = channel.outbound.plan(cmd.reply, cmd.recipient, replyTo, {
      conn, sinceCustomerMs: state ? now - state.lastInboundAt.getTime() : undefined, platformMessageId: cmd.platformMessageId,
    });
    if (parts.length === 0) throw new PermanentError('The reply is empty: nothing to send.');
    const alreadySent = new Set(firstAttempt ? [] : (await deliveries.partsOf(conn.id, cmd.platformMessageId)).map((p) => p.part));
    for (const part of parts) {
      if (alreadySent.has(part.index)) continue;
      const sentAt = new Date();
      const { externalId, sentNow } = await this.sendPart(conn, part, firstAttempt, log);
      // Meta has it now, and Graph cannot tell a resend from a new message: this record must be written.
      await persistAfterSend(() => deliveries.record({
        connectionId: conn.id, direction: 'outbound', externalId, part: part.index,
        platformConversationId: cmd.platformConversationId, platformMessageId: cmd.platformMessageId, status: 'pending',
        customerKey: DeliveryRepository.customerKeyOf(conn.id, cmd.recipient.id), sentAt,
      }), 'record of a reply part Meta accepted', log, { withinMs: this.deps.settings.persistWithinMs ?? 45_000 });
      // Recorded: the ledger's keys for it are no longer needed (they would expire anyway).
      if (part.tag) await this.deps.sentOnce?.ledger.settled(conn.id, part.tag).catch(() => undefined);
      await statuses.releaseHeld(conn, externalId);
      log.info(sentNow ? 'reply part sent' : 'reply part was sent by an earlier try (Meta\'s status names it); recorded, not sent again',
        { part: part.index, kind: part.kind, of: parts.length });
    }
    if (this.deps.settings.markReadOnReply && state && channel.outbound.markRead) {
      await channel.outbound.markRead(conn, state.lastInboundExternalId, false)
        .catch((err: unknown) => log.warn('could not mark the customer message read', { reason: errorMessage(err) }));
    }
  }

  /**
   * One part to Meta, unless an earlier try already got it there (earlier-send.ts). A tagged part notes its
   * attempt right before the message request; an answer that says nothing was sent clears the note again.
   */
  private async sendPart(conn: ConnectionRecord, part: OutboundPart, firstAttempt: boolean, log: Logger): Promise<{ externalId: string; sentNow: boolean }> {
    const channel = this.deps.channels.forKind(conn.channel);
    const tag = part.tag;
    if (!this.deps.sentOnce || !tag) return { externalId: await channel.outbound.send(conn, part), sentNow: true };
    const { ledger, wait } = this.deps.sentOnce;
    if (!firstAttempt) {
      const earlier = await earlierSendOf(ledger, conn.id, tag, wait, log);
      if (earlier) return { externalId: earlier, sentNow: false };
    }
    try {
      return { externalId: await channel.outbound.send(conn, part, () => ledger.attempting(conn.id, tag)), sentNow: true };
    } catch (err) {
      if (!mayHaveBeenCarriedOut(err)) await ledger.settled(conn.id, tag).catch(() => undefined);
      throw err;
    }
  }

  /** Platforms know Meta's id only for customer messages; for agent messages the bridge's records map it. */
  private async resolveReplyTo(conn: ConnectionRecord, cmd: ReplyCommand): Promise<string | undefined> {
    const replyTo = cmd.reply.replyTo;
    if (!replyTo) return undefined;
    if (replyTo.externalId) return replyTo.externalId;
    if (!replyTo.platformMessageId) return undefined;
    const rec = await this.deps.deliveries.findByPlatformMessageId(conn.id, replyTo.platformMessageId);
    return rec?.externalId;
  }

  private async fail(conn: ConnectionRecord, cmd: ReplyCommand, reason: string, log: Logger): Promise<void> {
    log.warn('reply failed', { reason });
    await this.deps.platformFor(conn).reportFailure(conn, { conversationId: cmd.platformConversationId, messageId: cmd.platformMessageId }, reason);
  }

  private async needsReauth(conn: ConnectionRecord): Promise<void> {
    await this.deps.connections.setHealth(conn.id, 'needs_reauth');
    this.deps.onReauthNeeded(conn);
  }
}
