/**
 * Forwarding one customer event to the connection's platform, exactly once:
 *   claim the Meta id (unique index) → fetch media → create on the platform → record ids → mark done.
 * A claim left unfinished by a crash makes the next attempt look on the platform before creating.
 *
 * Echoes (Messenger, Instagram): an echo whose Meta id is recorded as an outbound send is the bridge's own and is
 * not shown again. That record exists by the time the echo is handled: replies on these channels run in the
 * customer's lane (Pipeline.enqueueCommand), the lane works one entry at a time, and the reply records each Meta
 * id as soon as Graph returns it — so an echo queued while its send was in flight waits behind the send. Any
 * other echo was sent by a person (Page inbox, Instagram app) and is shown once, as the business's message.
 */
import type { EchoEvent, EditEvent, InboundMessageEvent, ReactionEvent, UnsendEvent } from './events';
import type { ConnectionRecord } from '../store/connections';
import { InboundKeyRepository } from '../store/inbound-keys';
import { DeliveryRepository } from '../store/deliveries';
import type { ConversationStateRepository } from '../store/conversation-state';
import type { Platform } from '../platforms/platform';
import type { DownloadedMedia } from '../channels/meta/media';
import type { Logger } from '../log/logger';
import { PermanentError, RetryableError, isRetryable, errorMessage } from './errors';
import { echoAsMessage, editAsMessage, unsendAsMessage } from './as-message';
import type { ProfileResolver } from './profiles';

export interface MediaFetcher {
  fetch(conn: ConnectionRecord, ref: InboundMessageEvent['attachments'][number]): Promise<DownloadedMedia>;
}

export interface AttemptInfo {
  /** 1 for the first try of this event. */
  attempt: number;
  /** After this many attempts the event is given up on. */
  maxAttempts: number;
}

/** Transient media failures are retried this many times before the message goes without the file. */
const MEDIA_RETRY_ATTEMPTS = 3;

/** own_echo: the echo of the bridge's own send; not_shown: the platform has no way to show this kind of event. */
export type ForwardOutcome = 'forwarded' | 'duplicate' | 'own_echo' | 'not_shown';

export type ForwardableEvent = InboundMessageEvent | ReactionEvent | EchoEvent | EditEvent | UnsendEvent;

/** Who wrote what is being shown: the customer, or the business (an echo of a person's send). */
type Side = 'customer' | 'business';

export class InboundRelay {
  constructor(
    private readonly deps: {
      keys: InboundKeyRepository;
      deliveries: DeliveryRepository;
      conversations: ConversationStateRepository;
      platformFor: (conn: ConnectionRecord) => Platform;
      media: MediaFetcher;
      /** Names and pictures for channels whose webhooks carry only ids. */
      profiles?: ProfileResolver;
      /**
       * Meta refused the connection's token (code 190) on a download: the connection needs re-authorisation. The
       * message itself still goes on, with a note.
       */
      onTokenRefused?: (conn: ConnectionRecord) => Promise<void>;
    },
  ) {}

  async forward(conn: ConnectionRecord, event: ForwardableEvent, attempt: AttemptInfo, log: Logger): Promise<ForwardOutcome> {
    const { keys } = this.deps;
    const key = InboundKeyRepository.key(conn.id, event.externalId);
    const claim = await keys.claim(key);
    if (claim === 'done') return 'duplicate';
    if (claim === 'busy') throw new RetryableError('another worker is forwarding this message right now', 5_000);
    try {
      const mayAlreadyExist = claim === 'unfinished';
      let outcome: ForwardOutcome;
      if (event.kind === 'echo') outcome = await this.echo(conn, event, mayAlreadyExist, attempt, log);
      else if (event.kind === 'unsend') outcome = await this.unsend(conn, event, mayAlreadyExist, attempt, log);
      else outcome = await this.deliver(conn, event.kind === 'edit' ? editAsMessage(event) : event, 'customer', mayAlreadyExist, attempt, log);
      await keys.markDone(key);
      return outcome;
    } catch (err) {
      await keys.endLease(key).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Before an admin replays a dead-lettered event: its claim is left unfinished, so forward() looks on the platform
   * (Chatwoot: by source_id among the conversation's latest messages; generic platforms: the Idempotency-Key)
   * before it creates, and a first attempt that reached the platform after all is not shown twice. An event whose
   * claim is done was forwarded (by a later redelivery from Meta): 'already_forwarded', nothing to queue.
   */
  async prepareReplay(conn: ConnectionRecord, event: ForwardableEvent): Promise<'ready' | 'already_forwarded'> {
    const reopened = await this.deps.keys.reopen(InboundKeyRepository.key(conn.id, event.externalId), { evenIfDone: false });
    return reopened === 'done' ? 'already_forwarded' : 'ready';
  }

  private async deliver(conn: ConnectionRecord, event: InboundMessageEvent | ReactionEvent, side: Side, mayAlreadyExist: boolean, attempt: AttemptInfo, log: Logger): Promise<ForwardOutcome> {
    const { deliveries } = this.deps;
    const platform = this.deps.platformFor(conn);
    const create = side === 'customer' ? platform.deliverInbound.bind(platform) : platform.deliverEcho?.bind(platform);
    if (!create) return 'not_shown';
    const { customer, late } = this.deps.profiles ? await this.deps.profiles.resolve(conn, event.customer, log) : { customer: event.customer, late: false };
    // A platform that takes media as links streams them from Meta when it asks; nothing is downloaded here.
    const { files, notes } = platform.media === 'links' ? { files: [], notes: [] } : await this.fetchMedia(conn, event, attempt, log);
    const replyTo = event.kind === 'reaction' ? event.targetExternalId : event.replyTo;
    const quoted = replyTo ? await deliveries.findByExternalId(conn.id, replyTo) : null;
    const ref = await create(conn, {
      event: { ...event, customer },
      files,
      notes,
      replyToPlatformMessageId: quoted?.direction === 'outbound' ? quoted.platformMessageId : undefined,
      mayAlreadyExist,
    });
    const ids = { connectionId: conn.id, externalId: event.externalId, platformConversationId: ref.conversationId, platformMessageId: ref.messageId };
    await Promise.all([
      side === 'customer'
        // The customer's key (a hash) lets erasure find their records; outbound records carry it too.
        ? deliveries.record({ ...ids, direction: 'inbound', status: 'forwarded', customerKey: DeliveryRepository.customerKeyOf(conn.id, customer.id) })
        // The business's message: receipts move it forward like any reply.
        : deliveries.record({ ...ids, direction: 'outbound', part: 0, status: 'pending', customerKey: DeliveryRepository.customerKeyOf(conn.id, customer.id), sentAt: new Date(event.timestamp) }),
      side === 'customer' ? this.deps.conversations.noteInbound(conn.id, ref.conversationId, new Date(event.timestamp), event.externalId) : undefined,
      // Best effort: the message is in; a contact that keeps the id as its name is no reason to deliver it again.
      late ? platform.updateContact?.(conn, customer).catch((err: unknown) => log.warn('could not update the contact with the late profile', { reason: errorMessage(err) })) : undefined,
    ]);
    return 'forwarded';
  }

  private async echo(conn: ConnectionRecord, event: EchoEvent, mayAlreadyExist: boolean, attempt: AttemptInfo, log: Logger): Promise<ForwardOutcome> {
    const { deliveries } = this.deps;
    const own = await deliveries.findByExternalId(conn.id, event.externalId);
    if (own?.direction === 'outbound') {
      // Meta's own send time, so delivery and read watermarks compare like with like.
      await deliveries.setSentAt(conn.id, event.externalId, new Date(event.timestamp));
      return 'own_echo';
    }
    if (event.taggedByBridge) {
      log.warn('echo of a bridge send that was never recorded (its response was lost); not shown again, the customer may have it twice');
      return 'own_echo';
    }
    return this.deliver(conn, echoAsMessage(event), 'business', mayAlreadyExist, attempt, log);
  }

  /** Marks the platform's copy deleted; when it cannot, a note threaded to the original says so. */
  private async unsend(conn: ConnectionRecord, event: UnsendEvent, mayAlreadyExist: boolean, attempt: AttemptInfo, log: Logger): Promise<ForwardOutcome> {
    const original = await this.deps.deliveries.findByExternalId(conn.id, event.targetExternalId);
    const platform = this.deps.platformFor(conn);
    if (original && platform.markDeleted) {
      try {
        await platform.markDeleted(conn, { conversationId: original.platformConversationId, messageId: original.platformMessageId });
        return 'forwarded';
      } catch (err) {
        if (err instanceof RetryableError) throw err;
        log.warn('could not mark the unsent message deleted; a note says so instead', { reason: errorMessage(err) });
      }
    }
    return this.deliver(conn, unsendAsMessage(event, original !== null), 'customer', mayAlreadyExist, attempt, log);
  }

  private async fetchMedia(conn: ConnectionRecord, event: InboundMessageEvent | ReactionEvent, attempt: AttemptInfo, log: Logger): Promise<{ files: DownloadedMedia[]; notes: string[] }> {
    const files: DownloadedMedia[] = [];
    const notes: string[] = [];
    if (event.kind !== 'message') return { files, notes };
    for (const ref of event.attachments) {
      try {
        files.push(await this.deps.media.fetch(conn, ref));
      } catch (err) {
        const lastChance = attempt.attempt >= Math.min(MEDIA_RETRY_ATTEMPTS, attempt.maxAttempts);
        if (isRetryable(err) && err instanceof RetryableError && !lastChance) throw err;
        // 190 is Meta's "this token is no good" on every Graph API (graph-errors.ts AUTH_ERROR_CODES).
        if (err instanceof PermanentError && err.code === 190) await this.deps.onTokenRefused?.(conn);
        log.warn('media download failed; delivering the message with a note', { kind: ref.kind, reason: errorMessage(err) });
        notes.push(`⚠️ The customer sent ${ref.kind === 'image' || ref.kind === 'audio' ? 'an' : 'a'} ${ref.kind}${ref.filename ? ` (${ref.filename})` : ''} that could not be downloaded (${errorMessage(err)}). Ask them to send it again.`);
      }
    }
    return { files, notes };
  }
}
