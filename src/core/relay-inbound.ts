/**
 * Forwarding one customer event to the connection's platform, exactly once:
 *   claim the Meta id (unique index) → fetch media → create on the platform → record ids → mark done.
 * A claim left unfinished by a crash makes the next attempt look on the platform before creating.
 */
import type { InboundMessageEvent, ReactionEvent } from './events';
import type { ConnectionRecord } from '../store/connections';
import { InboundKeyRepository } from '../store/inbound-keys';
import type { DeliveryRepository } from '../store/deliveries';
import type { ConversationStateRepository } from '../store/conversation-state';
import type { Platform } from '../platforms/platform';
import type { DownloadedMedia } from '../channels/meta/media';
import type { Logger } from '../log/logger';
import { RetryableError, isRetryable, errorMessage } from './errors';

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

export type ForwardOutcome = 'forwarded' | 'duplicate';

export class InboundRelay {
  constructor(
    private readonly deps: {
      keys: InboundKeyRepository;
      deliveries: DeliveryRepository;
      conversations: ConversationStateRepository;
      platformFor: (conn: ConnectionRecord) => Platform;
      media: MediaFetcher;
    },
  ) {}

  async forward(conn: ConnectionRecord, event: InboundMessageEvent | ReactionEvent, attempt: AttemptInfo, log: Logger): Promise<ForwardOutcome> {
    const { keys, deliveries } = this.deps;
    const key = InboundKeyRepository.key(conn.id, event.externalId);
    const claim = await keys.claim(key);
    if (claim === 'done') return 'duplicate';
    if (claim === 'busy') throw new RetryableError('another worker is forwarding this message right now', 5_000);
    try {
      const { files, notes } = await this.fetchMedia(conn, event, attempt, log);
      const replyTo = event.kind === 'reaction' ? event.targetExternalId : event.replyTo;
      const quoted = replyTo ? await deliveries.findByExternalId(conn.id, replyTo) : null;
      const platform = this.deps.platformFor(conn);
      const ref = await platform.deliverInbound(conn, {
        event,
        files,
        notes,
        replyToPlatformMessageId: quoted?.direction === 'outbound' ? quoted.platformMessageId : undefined,
        mayAlreadyExist: claim === 'unfinished',
      });
      await Promise.all([
        deliveries.record({
          connectionId: conn.id, direction: 'inbound', externalId: event.externalId,
          platformConversationId: ref.conversationId, platformMessageId: ref.messageId, status: 'forwarded',
        }),
        keys.markDone(key),
        this.deps.conversations.noteInbound(conn.id, ref.conversationId, new Date(event.timestamp), event.externalId),
      ]);
      return 'forwarded';
    } catch (err) {
      await keys.endLease(key).catch(() => undefined);
      throw err;
    }
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
        log.warn('media download failed; delivering the message with a note', { kind: ref.kind, reason: errorMessage(err) });
        notes.push(`⚠️ The customer sent ${ref.kind === 'image' || ref.kind === 'audio' ? 'an' : 'a'} ${ref.kind}${ref.filename ? ` (${ref.filename})` : ''} that could not be downloaded (${errorMessage(err)}). Ask them to send it again.`);
      }
    }
    return { files, notes };
  }
}
