/**
 * The platform (CRM) side of the bridge: Chatwoot and the generic HTTP platform implement the same interface,
 * and core code talks only to this. Adapters are listed in the registry (registry.ts), one per platform kind.
 */
import type { CustomerRef, InboundMessageEvent, ReactionEvent } from '../core/events';
import type { OutboundCommand } from '../core/outbound';
import type { ConnectionRecord, PlatformKind } from '../store/connections';
import type { DownloadedMedia } from '../channels/meta/media';

export interface InboundDelivery {
  event: InboundMessageEvent | ReactionEvent;
  /** Media already downloaded from Meta (platforms that take `media: 'bytes'`; always empty for 'links'). */
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

/** What one request the platform made of the bridge (its webhook, its API call) asks for. */
export type ParsedPlatformRequest =
  /** Work for the shared outbound pipeline; `commandId` is stable across repeats of the same request. */
  | { command: OutboundCommand; commandId: string }
  /** Understood, and nothing to do (a private note, an echo of the bridge's own message…). */
  | { ignored: string }
  /** Malformed: what is wrong, readable, for a 400. */
  | { invalid: string[] };

/** Whom an erasure concerns, as the bridge knows them on one connection (src/core/erasure.ts). */
export interface ErasedCustomer {
  /** Every id the customer is known by on the channel (phone digits, BSUID, PSID or IGSID), the one asked for first. */
  ids: string[];
  /** The platform's contact ids the bridge had kept for them; may be empty (the adapter then looks the contact up). */
  contactIds: string[];
  /** The platform conversations the bridge knew for them. */
  conversationIds: string[];
}

/**
 * deleted: the platform removed the contact (Chatwoot: with its conversations). anonymised: the contact stays,
 * stripped of name, phone, e-mail and ids (a token not allowed to delete). requested: the platform was told and
 * acknowledged (generic platforms do the deleting themselves). not_found: the platform has no such contact.
 */
export interface ContactErasure {
  outcome: 'deleted' | 'anonymised' | 'requested' | 'not_found';
  /** Readable, for the admin: what was left and why. */
  note?: string;
}

/**
 * One platform adapter. `K` ties it to its kind of connection; the registry hands an adapter only connections of
 * its own kind. Optional capabilities are optional methods.
 */
export interface Platform<K extends PlatformKind = PlatformKind> {
  readonly kind: K;
  /**
   * How customer media reach the platform. 'bytes': the bridge downloads each file from Meta before
   * deliverInbound (`files`). 'links': the adapter hands out signed bridge URLs that stream from Meta on demand
   * (`event.attachments`); nothing is downloaded ahead.
   */
  readonly media: 'bytes' | 'links';
  /** A customer's message or reaction (edits and deletes travel as messages, marked in their attributes). */
  deliverInbound(conn: ConnectionRecord<K>, delivery: InboundDelivery): Promise<PlatformMessageRef>;
  /** Shows the agent what became of a message they sent; `reason` is readable and set for failed. */
  updateStatus(conn: ConnectionRecord<K>, ref: PlatformMessageRef, status: PlatformStatus, reason?: string): Promise<void>;
  /** A message the agent sent will not reach the customer: show the reason where the agent looks. */
  reportFailure(conn: ConnectionRecord<K>, ref: PlatformMessageRef, reason: string): Promise<void>;
  /**
   * The platform's outbound request (already authenticated by its edge) → work for the outbound pipeline. No
   * side effects; it may read what the bridge remembers (whom a conversation belongs to).
   */
  parseRequest(conn: ConnectionRecord<K>, body: unknown): Promise<ParsedPlatformRequest>;
  /** The customer's conversation is closed: forget cached ids so the next message opens a new one. */
  forgetConversation(conn: ConnectionRecord<K>, customerIds: string[]): Promise<void>;
  /** Best effort, at connection time: make the inbox reflect the channel (Chatwoot: the reply window). */
  prepareInbox?(conn: ConnectionRecord<K>, replyWindowHours: number, windowClosedMessage?: string): Promise<void>;
  /**
   * A message the business sent from outside the bridge (the Page inbox, the Instagram app), as Meta echoed it:
   * shown as the business's own, outgoing message, created once (the Meta id is its key). Without this
   * capability such messages are not shown.
   */
  deliverEcho?(conn: ConnectionRecord<K>, delivery: InboundDelivery): Promise<PlatformMessageRef>;
  /** The customer unsent a message: mark the platform's copy deleted. Without this, a note tells the agent. */
  markDeleted?(conn: ConnectionRecord<K>, ref: PlatformMessageRef): Promise<void>;
  /** The customer's name and picture arrived after the contact was created under the id: update the contact. */
  updateContact?(conn: ConnectionRecord<K>, customer: CustomerRef): Promise<void>;
  /**
   * An end user was erased and the tenant asked for their platform contact to go too: delete (or, where the token
   * may not, anonymise) the contact, or tell the platform to. Throws like any platform call (retryable or not).
   */
  eraseContact?(conn: ConnectionRecord<K>, customer: ErasedCustomer): Promise<ContactErasure>;
}
