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

export type PlatformStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface Platform {
  readonly kind: string;
  deliverInbound(conn: ConnectionRecord, delivery: InboundDelivery): Promise<PlatformMessageRef>;
  /** Shows the agent what became of a message they sent; `reason` is readable and set for failed. */
  updateStatus(conn: ConnectionRecord, ref: PlatformMessageRef, status: PlatformStatus, reason?: string): Promise<void>;
  /** The customer's conversation is closed: forget cached ids so the next message opens a new one. */
  forgetConversation(conn: ConnectionRecord, customerIds: string[]): Promise<void>;
  /** Best effort, at connection time: make the inbox reflect the channel (Chatwoot: the reply window). */
  prepareInbox?(conn: ConnectionRecord, replyWindowHours: number): Promise<void>;
}
