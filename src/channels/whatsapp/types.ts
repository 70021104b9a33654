/**
 * The WhatsApp Cloud API webhook payload, as Meta documents it (business-messaging-api_v23.0.yaml, WebhookPayload,
 * and the per-type webhook reference pages). Required here means "Meta says it is always there".
 *
 * A webhook body is still untrusted input: the parser never casts to these types. It reads each level through
 * `Untrusted<T>`, which keeps the documented field names (a typo does not compile) but types every value as
 * `unknown`, so each one is narrowed before use.
 */

export const WHATSAPP_OBJECT = 'whatsapp_business_account';

export interface WaWebhookBody {
  object: typeof WHATSAPP_OBJECT;
  entry: WaEntry[];
}

export interface WaEntry {
  /** WABA id for `messages`; for some account_update events a partner business id. */
  id: string;
  /** Unix seconds, on template and account updates. */
  time?: number;
  changes: WaChange[];
}

export interface WaChange {
  /** "messages" carries customer traffic; every other field (templates, account, echoes…) is account-level. */
  field: string;
  value: WaMessagesValue | WaTemplateStatusValue | WaAccountUpdateValue | Record<string, unknown>;
}

export interface WaMetadata {
  display_phone_number: string;
  phone_number_id: string;
}

/** `value` of a `messages` change: inbound messages, statuses of sent messages, or system-level errors. */
export interface WaMessagesValue {
  messaging_product: 'whatsapp';
  metadata: WaMetadata;
  /** Absent for system messages and failed statuses. */
  contacts?: WaContact[];
  messages?: WaInboundMessage[];
  statuses?: WaStatus[];
  errors?: WaError[];
}

export interface WaContact {
  /** Phone-based WhatsApp id; may be omitted from 2026 for users with a username (then only user_id is sent). */
  wa_id?: string;
  /** Business-scoped user id (BSUID), e.g. "US.13491208655302741918". */
  user_id?: string;
  parent_user_id?: string;
  profile?: { name?: string; username?: string };
  identity_key_hash?: string;
}

export interface WaError {
  code: number;
  title?: string;
  message?: string;
  error_data?: { details?: string };
  href?: string;
}

export interface WaContext {
  /** Business display number of the quoted message. */
  from?: string;
  /** wamid of the quoted / tapped business message. */
  id?: string;
  forwarded?: boolean;
  frequently_forwarded?: boolean;
  referred_product?: { catalog_id: string; product_retailer_id: string };
}

/** Click-to-WhatsApp ad that started the conversation. */
export interface WaReferral {
  source_url: string;
  source_id: string;
  source_type: 'ad' | 'post';
  body?: string;
  headline?: string;
  media_type?: 'image' | 'video';
  image_url?: string;
  video_url?: string;
  thumbnail_url?: string;
  ctwa_clid?: string;
  welcome_message?: { text: string };
}

interface WaMessageBase {
  /** Customer phone; may be omitted from 2026 when only the BSUID is shared. */
  from?: string;
  from_user_id?: string;
  from_parent_user_id?: string;
  /** wamid */
  id: string;
  /** Unix seconds, as a string. */
  timestamp: string;
  context?: WaContext;
  referral?: WaReferral;
  errors?: WaError[];
  group_id?: string;
}

export interface WaMedia {
  id: string;
  /** lookaside.fbsbx.com URL (needs the token); rolling out since 2025-11, so optional. */
  url?: string;
  mime_type: string;
  sha256: string;
}

export interface WaText { body: string }
export interface WaCaptioned extends WaMedia { caption?: string }
export interface WaDocument extends WaCaptioned { filename?: string }
export interface WaAudio extends WaMedia { voice?: boolean }
export interface WaSticker extends WaMedia { animated?: boolean }

export interface WaLocation {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

export interface WaContactCard {
  name?: { formatted_name?: string; first_name?: string; last_name?: string; middle_name?: string; prefix?: string; suffix?: string };
  phones?: Array<{ phone?: string; wa_id?: string; type?: string }>;
  emails?: Array<{ email?: string; type?: string }>;
  org?: { company?: string; department?: string; title?: string };
  addresses?: Array<Record<string, string>>;
  urls?: Array<{ url?: string; type?: string }>;
  birthday?: string;
}

export interface WaReplyChoice { id: string; title: string; description?: string }

export interface WaInteractive {
  type: 'button_reply' | 'list_reply' | 'nfm_reply';
  button_reply?: WaReplyChoice;
  list_reply?: WaReplyChoice;
  /** A WhatsApp Flow (or address message) the customer submitted. */
  nfm_reply?: { name?: string; body?: string; response_json: string };
}

export interface WaOrder {
  catalog_id: string;
  text?: string;
  product_items: Array<{ product_retailer_id: string; quantity: number; item_price: number; currency: string }>;
}

export interface WaSystem {
  body?: string;
  type: 'user_changed_number' | 'user_changed_user_id' | string;
  /** New wa_id after user_changed_number (older payloads: new_wa_id). */
  wa_id?: string;
  new_wa_id?: string;
  /** New BSUID after user_changed_user_id. */
  user_id?: string;
}

/** The inner message of a coexistence edit: the new version, without id/from. */
export interface WaEditedMessage {
  context?: WaContext;
  type: string;
  text?: WaText;
  image?: WaCaptioned;
  video?: WaCaptioned;
  document?: WaDocument;
}

export type WaInboundMessage =
  | (WaMessageBase & { type: 'text'; text: WaText })
  | (WaMessageBase & { type: 'image'; image: WaCaptioned })
  | (WaMessageBase & { type: 'video'; video: WaCaptioned })
  | (WaMessageBase & { type: 'document'; document: WaDocument })
  | (WaMessageBase & { type: 'audio'; audio: WaAudio })
  | (WaMessageBase & { type: 'sticker'; sticker: WaSticker })
  | (WaMessageBase & { type: 'location'; location: WaLocation })
  | (WaMessageBase & { type: 'contacts'; contacts: WaContactCard[] })
  | (WaMessageBase & { type: 'interactive'; interactive: WaInteractive })
  | (WaMessageBase & { type: 'button'; button: { payload: string; text: string } })
  | (WaMessageBase & { type: 'reaction'; reaction: { message_id: string; emoji?: string } })
  | (WaMessageBase & { type: 'order'; order: WaOrder })
  | (WaMessageBase & { type: 'system'; system: WaSystem })
  | (WaMessageBase & { type: 'edit'; edit: { original_message_id: string; message: WaEditedMessage } })
  | (WaMessageBase & { type: 'revoke'; revoke: { original_message_id: string } })
  | (WaMessageBase & { type: 'unsupported' | 'unknown'; errors: WaError[] });

export type WaMessageType = WaInboundMessage['type'];

export interface WaStatus {
  /** wamid of the business message. */
  id: string;
  /** `played`: first play of a voice message (since 2026-03). */
  status: 'sent' | 'delivered' | 'read' | 'failed' | 'played';
  timestamp: string;
  /** May be omitted when the message was sent to a BSUID. */
  recipient_id?: string;
  recipient_user_id?: string;
  recipient_parent_user_id?: string;
  recipient_type?: string;
  biz_opaque_callback_data?: string;
  conversation?: { id: string; expiration_timestamp?: string; origin?: { type: string } };
  pricing?: { billable?: boolean; pricing_model?: string; type?: string; category?: string };
  errors?: WaError[];
}

export interface WaTemplateStatusValue {
  event: string;
  message_template_id: number;
  message_template_name: string;
  message_template_language: string;
  message_template_category?: string;
  reason?: string;
  rejection_info?: { reason?: string; recommendation?: string };
}

export interface WaAccountUpdateValue {
  event: string;
  /** PARTNER_* events: the WABA concerned (use waba_id, not entry.id) and, on some, the partner app. */
  waba_info?: { waba_id?: string; owner_business_id?: string; partner_app_id?: string; solution_id?: string; solution_partner_business_ids?: string[] };
}

// ---- reading untrusted input (shared by every Meta channel) ----

export { list, num, rec, str, word, type Untrusted } from '../meta/untrusted';
