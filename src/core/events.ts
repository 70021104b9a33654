/**
 * The channel-neutral event model. Channel parsers (src/channels/<name>/webhook.ts) turn Meta payloads into
 * these; nothing downstream of a parser ever looks at `entry[].changes[]` or `messaging[]` again.
 */

export type ChannelKind = 'whatsapp' | 'messenger' | 'instagram';

/** Who the customer is, as far as Meta told us. `id` is the stable key within one connection. */
export interface CustomerRef {
  /** wa_id (phone digits) when Meta gives one, else the business-scoped user id (BSUID), PSID or IGSID. */
  id: string;
  /** Phone number digits as Meta sends them (no '+'), when known. */
  phone?: string;
  /** WhatsApp business-scoped user id (2026 change: may be the only id when the user has a username). */
  bsuid?: string;
  username?: string;
  name?: string;
  /** A picture of the customer (Messenger/Instagram profile_pic), when the channel could fetch one. */
  avatarUrl?: string;
}

export type MediaKind = 'image' | 'audio' | 'video' | 'document' | 'sticker';

/** A piece of media the customer sent. The bytes are fetched later, by the platform adapter's worker. */
export interface MediaRef {
  kind: MediaKind;
  /** Graph media id (WhatsApp): resolved with GET /{media-id} to a short-lived URL. */
  mediaId?: string;
  /** Direct URL (Messenger/Instagram CDN). */
  url?: string;
  mimeType?: string;
  /** base64 sha256 Meta reports for WhatsApp media. */
  sha256?: string;
  filename?: string;
  /** WhatsApp audio recorded as a voice note. */
  voice?: boolean;
  animated?: boolean;
}

export interface EventBase {
  channel: ChannelKind;
  /** What routes the event to a connection: phone_number_id, Page id or Instagram account id. */
  businessId: string;
  /** Meta's id of the message the event is about (wamid / mid). */
  externalId: string;
  /** Meta's clock, ms since epoch. */
  timestamp: number;
}

/** A customer message: text, media, location, contacts, interactive reply, or a readable placeholder. */
export interface InboundMessageEvent extends EventBase {
  kind: 'message';
  customer: CustomerRef;
  /** What the agent reads: body, caption, or a readable rendering of a non-text message. */
  text: string;
  attachments: MediaRef[];
  /** externalId of the message this one quotes or answers. */
  replyTo?: string;
  forwarded?: 'forwarded' | 'frequently_forwarded';
  /** Meta's own type name ("text", "image", "interactive", "unsupported", …), for counting and logs. */
  originalType: string;
  /** Set when Meta could not give us the real content (unsupported, system, errors): the why, readable. */
  placeholderReason?: string;
  /** Extra structured facts kept as platform message attributes (referral, coordinates, button ids…). */
  attributes: Record<string, unknown>;
}

/** A customer reacted to a message (emoji) or removed a reaction (emoji null). */
export interface ReactionEvent extends EventBase {
  kind: 'reaction';
  customer: CustomerRef;
  targetExternalId: string;
  emoji: string | null;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface MetaErrorInfo {
  code: number;
  title?: string;
  message?: string;
  details?: string;
}

/** What became of a message the business sent. */
export interface StatusEvent extends EventBase {
  kind: 'status';
  status: DeliveryStatus;
  recipient: CustomerRef;
  errors: MetaErrorInfo[];
  /** The send tag the bridge put on the message (WhatsApp biz_opaque_callback_data; src/core/send-tags.ts). */
  sendTag?: string;
}

/**
 * A message the business itself sent, as Meta shows it back (Messenger message_echoes, Instagram is_echo): sent by
 * the bridge, or by a person in the Page inbox, the Instagram app or another tool. `customer` is who received it.
 */
export interface EchoEvent extends Omit<InboundMessageEvent, 'kind'> {
  kind: 'echo';
  /** The Meta app that sent it, when Meta says (the Page inbox has an app id of its own). */
  appId?: string;
  /** The string the sender attached to the send (Messenger `metadata`, echoed back verbatim). */
  metadata?: string;
  /** The send carried the bridge's own metadata tag: the bridge sent it, whether or not it recorded the send. */
  taggedByBridge?: boolean;
}

/** The customer changed the text of an earlier message. */
export interface EditEvent extends EventBase {
  kind: 'edit';
  customer: CustomerRef;
  /** Meta's id of the message that was edited. */
  targetExternalId: string;
  /** The text as it now reads. */
  text: string;
  /** How many times the message has been edited so far, when Meta says. */
  editCount?: number;
}

/** The customer unsent (deleted for everyone) an earlier message. */
export interface UnsendEvent extends EventBase {
  kind: 'unsend';
  customer: CustomerRef;
  targetExternalId: string;
}

/**
 * A receipt that covers every earlier business message of the conversation (Messenger delivery and read
 * watermarks, Instagram's seen receipt), not one message: each outgoing message up to it takes the status.
 */
export interface WatermarkEvent extends EventBase {
  kind: 'watermark';
  status: 'delivered' | 'read';
  customer: CustomerRef;
  /** Everything the business sent up to this moment (Meta's clock, ms) is covered; absent when only ids are known. */
  upTo?: number;
  /** Meta ids the receipt names (Messenger delivery.mids, Instagram read.mid); they are covered too. */
  externalIds: string[];
}

export type InboundEvent = InboundMessageEvent | ReactionEvent | StatusEvent | EchoEvent | EditEvent | UnsendEvent | WatermarkEvent;

/** Something in a delivery that is not an event for a customer conversation (account-level errors, template updates…). */
export interface Oddity {
  businessId?: string;
  reason: string;
}

/**
 * Meta says this app lost its access to a business account: WhatsApp's account_update PARTNER_APP_UNINSTALLED
 * (the business uninstalled the app from its WABA) or PARTNER_REMOVED (it removed the partner). Every connection
 * of that account lost its grant. Not a conversation event: it never enters a customer's lane (see
 * Pipeline.enqueueWebhook).
 */
export interface AccessRevokedEvent {
  kind: 'access_revoked';
  channel: ChannelKind;
  /** The account (WABA id from value.waba_info.waba_id; never entry.id, which can be a partner business id). */
  wabaId: string;
  /** Meta's event name. */
  event: 'PARTNER_APP_UNINSTALLED' | 'PARTNER_REMOVED';
  /** The app Meta names (waba_info.partner_app_id), when it names one. */
  partnerAppId?: string;
  /** When Meta says it happened (entry.time, ms), when it says: a redelivery must not undo a later reconnect. */
  occurredAt?: number;
}

/** What a channel parser returns for one webhook delivery. */
export interface ParsedDelivery {
  events: InboundEvent[];
  oddities: Oddity[];
  /** Accounts this app lost access to (WhatsApp only); each is also described as an oddity, for the log. */
  revocations?: AccessRevokedEvent[];
}
