/**
 * Instagram messaging (`object: "instagram"`): the payload types are the ones Instagram and Messenger share
 * (../meta/messaging-types.ts); what is Instagram's own is here.
 */
import type { MessagingFlavour } from '../meta/messaging-webhook';
import type { SendApiProduct } from '../meta/send-api';

export type { MsgAttachment, MsgItem, MsgMessage, MsgWebhookBody } from '../meta/messaging-types';

export const INSTAGRAM_OBJECT = 'instagram';

export const INSTAGRAM: MessagingFlavour = { channel: 'instagram', object: INSTAGRAM_OBJECT, label: 'Instagram' };

/**
 * Text of at most 1,000 UTF-8 bytes; attachments by URL (Meta fetches them: the platform's attachment URLs must be
 * reachable from the internet); no documented `metadata` on Instagram sends.
 */
export const INSTAGRAM_SEND: SendApiProduct = { label: 'Instagram', text: { max: 1000, measure: 'utf8' }, attachments: 'link', metadata: false };

/** GET /{igsid}?fields=… (Instagram User Profile API). */
export const INSTAGRAM_PROFILE_FIELDS = ['name', 'username', 'profile_pic'] as const;

export interface InstagramProfile {
  name?: string;
  username?: string;
  profile_pic?: string;
}

/**
 * Which token an Instagram connection holds: a Page token of the linked Facebook Page (Messenger API for
 * Instagram, graph.facebook.com) or an Instagram User token (Instagram API with Instagram Login, graph.instagram.com).
 */
export type InstagramTokenKind = 'page' | 'instagram_login';
