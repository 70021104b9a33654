/**
 * The Messenger Platform webhook payload (`object: "page"`) and Instagram messaging (`object: "instagram"`), as
 * Meta documents them (meta-api-notes §5.1–5.4; fixtures meta/messenger-webhook-*, meta/instagram-webhook-*).
 * Both products share the `entry[].messaging[]` envelope; each messaging item carries exactly one event field.
 * Read through `Untrusted<T>` only (src/channels/meta/untrusted.ts): the body is never cast to these types.
 */

export interface MsgWebhookBody {
  object: 'page' | 'instagram';
  entry: MsgEntry[];
}

export interface MsgEntry {
  /** The Page id (Messenger) or the Instagram professional account id: what routes the events. */
  id: string;
  /** ms since epoch. */
  time: number;
  /** "will only contain one messaging object", but read as a list all the same. */
  messaging?: MsgItem[];
  /** Events for a thread another app controls (handover protocol). */
  standby?: MsgItem[];
  /** Instagram (Facebook Login) comments and other fields use `changes[]`; not conversation traffic here. */
  changes?: unknown[];
}

export interface MsgItem {
  sender: { id: string };
  recipient: { id: string };
  /** ms since epoch; absent on some delivery receipts. */
  timestamp?: number;
  message?: MsgMessage;
  postback?: MsgPostback;
  reaction?: MsgReaction;
  message_edit?: MsgEdit;
  delivery?: MsgDelivery;
  read?: MsgRead;
  referral?: MsgReferral;
  optin?: Record<string, unknown>;
  policy_enforcement?: Record<string, unknown>;
  account_linking?: Record<string, unknown>;
}

export interface MsgMessage {
  mid: string;
  text?: string;
  quick_reply?: { payload: string };
  /** A quoted message, or (Instagram) the story the customer answered. */
  reply_to?: { mid?: string; is_self_reply?: boolean; story?: { id?: string; url?: string } };
  attachments?: MsgAttachment[];
  referral?: MsgReferral;
  commands?: Array<{ name: string }>;
  /** The business sent it (message_echoes; Instagram echoes arrive among `messages`). */
  is_echo?: boolean;
  app_id?: number | string;
  metadata?: string;
  /** Instagram: the customer unsent the message. */
  is_deleted?: boolean;
  /** Instagram: a message type the API does not deliver. */
  is_unsupported?: boolean;
  /** Instagram: a test message the account sent to itself. */
  is_self?: boolean;
}

export type MsgAttachmentType =
  | 'image' | 'audio' | 'video' | 'file' | 'sticker' | 'fallback' | 'location' | 'template'
  | 'share' | 'post' | 'ig_post' | 'reel' | 'ig_reel' | 'story' | 'ig_story' | 'story_mention' | 'media' | 'appointment_booking';

export interface MsgAttachment {
  type: MsgAttachmentType | string;
  payload?: {
    url?: string;
    title?: string;
    sticker_id?: number;
    reel_video_id?: number | string;
    id?: string;
    coordinates?: { lat: number; long: number };
    product?: { elements?: Array<{ id?: string; title?: string; subtitle?: string; image_url?: string; retailer_id?: string }> };
  } | null;
  /** Older fallback attachments carry title and url beside the payload. */
  title?: string;
  url?: string;
}

export interface MsgReferral {
  ref?: string;
  source?: string;
  type?: string;
  ad_id?: string;
  referer_uri?: string;
  ads_context_data?: Record<string, unknown>;
}

export interface MsgPostback {
  title: string;
  payload: string;
  mid?: string;
  referral?: MsgReferral;
}

export interface MsgReaction {
  /** smile | angry | sad | wow | love | like | dislike | other */
  reaction?: string;
  emoji?: string;
  action: 'react' | 'unreact';
  /** The message reacted to. */
  mid: string;
}

export interface MsgEdit {
  mid: string;
  text: string;
  num_edit?: number;
}

export interface MsgDelivery {
  mids?: string[];
  /** Every message before this time (ms) was delivered. */
  watermark: number;
}

export interface MsgRead {
  /** Messenger: every message before this time (ms) was read. */
  watermark?: number;
  /** Instagram (messaging_seen): the message that was seen. */
  mid?: string;
}
