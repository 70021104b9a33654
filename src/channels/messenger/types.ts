/**
 * Messenger Platform (`object: "page"`): the payload types are the ones Messenger and Instagram share
 * (../meta/messaging-types.ts); what is Messenger's own is here.
 */
import type { MessagingFlavour } from '../meta/messaging-webhook';
import type { SendApiProduct } from '../meta/send-api';

export type { MsgAttachment, MsgItem, MsgMessage, MsgWebhookBody } from '../meta/messaging-types';

export const MESSENGER_OBJECT = 'page';

export const MESSENGER: MessagingFlavour = { channel: 'messenger', object: MESSENGER_OBJECT, label: 'Messenger' };

/**
 * Text below 2,000 characters (Send API reference); files uploaded with the send, so Chatwoot's attachment URLs
 * need not be reachable from Meta; `message.metadata` is echoed back in message_echoes.
 */
export const MESSENGER_SEND: SendApiProduct = { label: 'Messenger', text: { max: 2000, measure: 'utf16' }, attachments: 'upload', metadata: true };

/** GET /{psid}?fields=… (Messenger User Profile API). */
export const MESSENGER_PROFILE_FIELDS = ['first_name', 'last_name', 'profile_pic'] as const;

export interface MessengerProfile {
  first_name?: string;
  last_name?: string;
  profile_pic?: string;
}
