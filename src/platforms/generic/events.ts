/**
 * The events the bridge POSTs to a generic platform, in the shape docs/platform-api.openapi.json documents
 * (its `webhooks` section). Pure: core events in, JSON out. Every event has an id that is also its
 * Idempotency-Key: derived from what the event is about, so every retry of one event carries the same id.
 *
 * Naming, everywhere in the contract: `message_id` is always the platform's own id (of a reply it sent);
 * `meta_message_id` is always Meta's id (wamid / mid).
 */
import { createHash } from 'node:crypto';
import type { ChannelKind, CustomerRef, InboundMessageEvent, MediaKind, MediaRef, ReactionEvent } from '../../core/events';
import type { InboundDelivery, PlatformStatus } from '../platform';

export const SCHEMA_VERSION = 1;

export type BridgeEventType = 'message' | 'reaction' | 'edit' | 'delete' | 'status' | 'contact' | 'contact.erase';

export interface WireCustomer {
  id: string;
  phone?: string;
  bsuid?: string;
  username?: string;
  name?: string;
}

export interface WireMessageRef {
  meta_message_id: string;
  /** Set when the message is one the platform sent (a reply): the platform's own id for it. */
  message_id?: string;
}

export interface WireAttachment {
  kind: MediaKind;
  /** A short-lived, signed bridge URL; GET streams the file from Meta. Nothing is stored by the bridge. */
  url: string;
  url_expires_at: string;
  mime_type?: string;
  filename?: string;
  voice?: boolean;
  animated?: boolean;
}

export interface MessageData {
  meta_message_id: string;
  customer: WireCustomer;
  /** What an agent reads: the text, a caption, or a readable rendering of a non-text message. */
  text: string;
  /** Meta's own type name ("text", "image", "interactive", "unsupported", …). */
  meta_type: string;
  attachments: WireAttachment[];
  reply_to?: WireMessageRef;
  forwarded?: 'forwarded' | 'frequently_forwarded';
  /** Set when Meta could not give the real content: why, readable. */
  placeholder_reason?: string;
  /** Structured facts (referral, coordinates, button payloads…), as the channel reported them. */
  attributes: Record<string, unknown>;
}

export interface ReactionData {
  meta_message_id: string;
  customer: WireCustomer;
  target: WireMessageRef;
  /** null: the customer removed their reaction. */
  emoji: string | null;
}

export interface EditData {
  meta_message_id: string;
  customer: WireCustomer;
  target: WireMessageRef;
  /** The new text (or caption) of the edited message. */
  text: string;
}

export interface DeleteData {
  meta_message_id: string;
  customer: WireCustomer;
  target: WireMessageRef;
}

export interface StatusData {
  /** The platform's id of the reply (the message_id it gave POST /platform/v1/messages). */
  message_id: string;
  status: PlatformStatus;
  /** Readable, for failed: why the message did not reach the customer and what to do. */
  reason?: string;
}

export interface ContactData {
  customer: WireCustomer;
}

/** An admin erased this customer from the bridge, and the tenant wants the platform to erase them too. */
export interface ContactEraseData {
  /** Every id the bridge knew the customer by (as contact events named them: id, phone, bsuid). */
  customer_ids: string[];
}

interface DataOf {
  message: MessageData;
  reaction: ReactionData;
  edit: EditData;
  delete: DeleteData;
  status: StatusData;
  contact: ContactData;
  'contact.erase': ContactEraseData;
}

export interface BridgeEventOf<T extends BridgeEventType> {
  schema_version: typeof SCHEMA_VERSION;
  /** Also the Idempotency-Key header: the same for every retry of this event. */
  id: string;
  type: T;
  /** When it happened (Meta's clock for customer events; when the bridge learned it for statuses). */
  occurred_at: string;
  connection_id: string;
  channel: ChannelKind;
  /** The conversation on the bridge's side: opaque (cnv_…), stable per customer. Reply with it. */
  conversation_id: string;
  data: DataOf[T];
}

export type BridgeEvent = { [T in BridgeEventType]: BridgeEventOf<T> }[BridgeEventType];

export interface EventContext {
  connectionId: string;
  channel: ChannelKind;
  conversationId: string;
}

/** Stable across retries: what the event is about, never when it is sent. */
export function eventId(connectionId: string, type: BridgeEventType, subject: string): string {
  return `evt_${createHash('sha256').update(`${connectionId}\u0000${type}\u0000${subject}`).digest('base64url').slice(0, 32)}`;
}

function envelope<T extends BridgeEventType>(ctx: EventContext, type: T, subject: string, occurredAtMs: number, data: DataOf[T]): BridgeEventOf<T> {
  return {
    schema_version: SCHEMA_VERSION,
    id: eventId(ctx.connectionId, type, subject),
    type,
    occurred_at: new Date(occurredAtMs).toISOString(),
    connection_id: ctx.connectionId,
    channel: ctx.channel,
    conversation_id: ctx.conversationId,
    data,
  };
}

export function wireCustomer(c: CustomerRef): WireCustomer {
  const out: WireCustomer = { id: c.id };
  if (c.phone) out.phone = c.phone;
  if (c.bsuid) out.bsuid = c.bsuid;
  if (c.username) out.username = c.username;
  if (c.name) out.name = c.name;
  return out;
}

/** A fingerprint of what the platform knows about the customer: a contact event goes out when it changes. */
export function profileHash(c: CustomerRef): string {
  return createHash('sha256').update(JSON.stringify(wireCustomer(c))).digest('base64url').slice(0, 22);
}

function ref(metaId: string, platformMessageId: string | undefined): WireMessageRef {
  return platformMessageId ? { meta_message_id: metaId, message_id: platformMessageId } : { meta_message_id: metaId };
}

export type LinkMinter = (ref: MediaRef) => { url: string; expiresAt: Date };

const EDIT_PREFIX = '✏️ edited: ';

/**
 * A customer event → the event the platform receives. WhatsApp edits and deletes (revokes) arrive from the
 * channel as messages marked in their attributes; here they become `edit` and `delete` events.
 */
export function inboundEvent(ctx: EventContext, delivery: InboundDelivery, mint: LinkMinter): BridgeEvent {
  const { event } = delivery;
  return event.kind === 'reaction' ? reactionEvent(ctx, event, delivery.replyToPlatformMessageId) : messageEvent(ctx, event, delivery, mint);
}

function reactionEvent(ctx: EventContext, event: ReactionEvent, quotedPlatformId: string | undefined): BridgeEvent {
  return envelope(ctx, 'reaction', event.externalId, event.timestamp, {
    meta_message_id: event.externalId,
    customer: wireCustomer(event.customer),
    target: ref(event.targetExternalId, quotedPlatformId),
    emoji: event.emoji,
  });
}

function messageEvent(ctx: EventContext, event: InboundMessageEvent, delivery: InboundDelivery, mint: LinkMinter): BridgeEvent {
  const customer = wireCustomer(event.customer);
  const quotedPlatformId = delivery.replyToPlatformMessageId;
  const editOf = typeof event.attributes.editOf === 'string' ? event.attributes.editOf : undefined;
  if (editOf) {
    const text = event.text.startsWith(EDIT_PREFIX) ? event.text.slice(EDIT_PREFIX.length) : event.text;
    return editEvent(ctx, { ...event, targetExternalId: editOf, text }, quotedPlatformId);
  }
  const revokes = typeof event.attributes.revokes === 'string' ? event.attributes.revokes : undefined;
  if (revokes) return deleteEvent(ctx, { ...event, targetExternalId: revokes }, quotedPlatformId);
  const data: MessageData = {
    meta_message_id: event.externalId,
    customer,
    text: [event.text, ...delivery.notes].filter((part) => part.length > 0).join('\n\n'),
    meta_type: event.originalType,
    attachments: event.attachments.map((a) => attachment(a, mint)),
    attributes: event.attributes,
  };
  if (event.replyTo) data.reply_to = ref(event.replyTo, quotedPlatformId);
  if (event.forwarded) data.forwarded = event.forwarded;
  if (event.placeholderReason) data.placeholder_reason = event.placeholderReason;
  return envelope(ctx, 'message', event.externalId, event.timestamp, data);
}

/** What an edit or a delete is about, whichever way the channel reported it. */
export interface ChangeOf {
  externalId: string;
  timestamp: number;
  customer: CustomerRef;
  targetExternalId: string;
}

export function editEvent(ctx: EventContext, change: ChangeOf & { text: string }, quotedPlatformId?: string): BridgeEvent {
  return envelope(ctx, 'edit', change.externalId, change.timestamp, {
    meta_message_id: change.externalId, customer: wireCustomer(change.customer), target: ref(change.targetExternalId, quotedPlatformId), text: change.text,
  });
}

export function deleteEvent(ctx: EventContext, change: ChangeOf, quotedPlatformId?: string): BridgeEvent {
  return envelope(ctx, 'delete', change.externalId, change.timestamp, {
    meta_message_id: change.externalId, customer: wireCustomer(change.customer), target: ref(change.targetExternalId, quotedPlatformId),
  });
}

function attachment(a: MediaRef, mint: LinkMinter): WireAttachment {
  const link = mint(a);
  const out: WireAttachment = { kind: a.kind, url: link.url, url_expires_at: link.expiresAt.toISOString() };
  if (a.mimeType) out.mime_type = a.mimeType;
  if (a.filename) out.filename = a.filename;
  if (a.voice) out.voice = true;
  if (a.animated) out.animated = true;
  return out;
}

export function statusEvent(ctx: EventContext, platformMessageId: string, status: PlatformStatus, reason: string | undefined, nowMs: number): BridgeEvent {
  const data: StatusData = { message_id: platformMessageId, status };
  if (status === 'failed' && reason) data.reason = reason;
  return envelope(ctx, 'status', `${platformMessageId}\u0000${status}`, nowMs, data);
}

/** Stable per conversation: asking twice to erase one customer is one request to the platform. */
export function contactEraseEvent(ctx: EventContext, customerIds: string[], nowMs: number): BridgeEvent {
  return envelope(ctx, 'contact.erase', ctx.conversationId, nowMs, { customer_ids: customerIds });
}

export function contactEvent(ctx: EventContext, customer: CustomerRef, occurredAtMs: number): BridgeEvent {
  return envelope(ctx, 'contact', `${customer.id}\u0000${profileHash(customer)}`, occurredAtMs, { customer: wireCustomer(customer) });
}
