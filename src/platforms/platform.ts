/**
 * The platform (CRM) side of the bridge. Chatwoot is the first implementation; a generic HTTP platform follows
 * behind the same interface. Core code talks only to this.
 */
import type { InboundMessageEvent, ReactionEvent } from '../core/events';
import type { ConnectionRecord } from '../store/connections';
import type { DownloadedMedia } from '../channels/meta/media';

export interface InboundDelivery {
  event: InboundMessageEvent | ReactionEvent;
  /** Media already downloaded from Meta. */
  files: DownloadedMedia[];
  /** Readable notes for what could not be brought along (a media download that failed). */
  notes: string[];
  /** The platform's id of the message this one answers, when the bridge knows it. */
  replyToPlatformMessageId?: string;
  /**
   * An earlier attempt may have created the message before dying: the adapter must look before creating,
   * so the customer's message appears once.
   */
  mayAlreadyExist: boolean;
}

export interface PlatformMessageRef {
  conversationId: string;
  messageId: string;
}

export interface Platform {
  readonly kind: string;
  deliverInbound(conn: ConnectionRecord, delivery: InboundDelivery): Promise<PlatformMessageRef>;
}
