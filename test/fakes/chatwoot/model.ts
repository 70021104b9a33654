/**
 * In-memory records of the fake Chatwoot and the errors its API answers with (chatwoot-api-notes §2.1:
 * 401 {"error"}, 404 {"error":"Resource could not be found"}, 422 {"message","attributes"} for record
 * validation, 422 {"error"} for messages#create and filter failures, 500 for what Rails leaves unhandled).
 */
export type Json = Record<string, unknown>;

export interface Account { id: number; name: string }
export interface User { id: number; name: string; email: string }

export interface Inbox {
  id: number;
  accountId: number;
  channelId: number;
  name: string;
  webhookUrl?: string;
  /** Channel::Api#secret (v4.13+); null = an older Chatwoot that does not sign. */
  secret: string | null;
  identifier: string;
  /** Channel::Api#hmac_token (contact identity validation on the Public API; not the webhook key). */
  hmacToken?: string;
  hmacMandatory?: boolean;
  /** Channel::Api#additional_attributes (agent_reply_time_window…); replaced wholesale by an update. */
  additionalAttributes?: Json;
}

/** AccountUser#role. Inbox create/update/destroy are administrator-only (InboxPolicy). */
export type AccountRole = 'administrator' | 'agent';

export interface Contact {
  id: number;
  accountId: number;
  name: string;
  email: string | null;
  phoneNumber: string | null;
  identifier: string | null;
  additionalAttributes: Json;
  customAttributes: Json;
  blocked: boolean;
  avatarUrl: string | null;
  createdAt: number;
  lastActivityAt: number | null;
}

export interface ContactInbox {
  id: number;
  contactId: number;
  inboxId: number;
  sourceId: string;
  hmacVerified: boolean;
  pubsubToken: string;
  createdAt: number;
  updatedAt: number;
}

export const CONVERSATION_STATUSES = ['open', 'resolved', 'pending', 'snoozed'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

export interface Conversation {
  id: number;
  /** The per-account number every API route uses. */
  displayId: number;
  accountId: number;
  inboxId: number;
  contactId: number;
  contactInboxId: number;
  uuid: string;
  status: ConversationStatus;
  additionalAttributes: Json;
  customAttributes: Json;
  assigneeId: number | null;
  createdAt: number;
  updatedAt: number;
  lastActivityAt: number;
  agentLastSeenAt: number | null;
  contactLastSeenAt: number | null;
  firstReplyCreatedAt: number | null;
  waitingSince: number | null;
  snoozedUntil: number | null;
}

export const MESSAGE_TYPES = ['incoming', 'outgoing', 'activity', 'template'] as const;
export type MessageTypeName = (typeof MESSAGE_TYPES)[number];
export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
/** Message#content_type enum values (v4.15.1 adds voice_call). */
export const CONTENT_TYPES = ['text', 'input_text', 'input_textarea', 'input_email', 'input_select', 'cards', 'form', 'article', 'incoming_email', 'input_csat', 'integrations', 'sticker', 'voice_call'];

export interface Attachment {
  id: number;
  messageId: number;
  accountId: number;
  fileType: 'image' | 'audio' | 'video' | 'file';
  contentType: string;
  filename: string;
  bytes: Buffer;
  /** The opaque part of the ActiveStorage URLs. */
  blobKey: string;
}

export interface Message {
  id: number;
  accountId: number;
  inboxId: number;
  conversationId: number;
  content: string | null;
  messageType: 0 | 1 | 2 | 3;
  contentType: string;
  contentAttributes: Json;
  additionalAttributes: Json;
  private: boolean;
  sourceId: string | null;
  status: MessageStatus;
  sender: { type: 'User' | 'Contact'; id: number } | null;
  echoId?: string;
  createdAt: number;
  updatedAt: number;
  attachments: Attachment[];
}

export class CwError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export const cwErrors = {
  invalidToken: () => new CwError(401, { error: 'Invalid Access Token' }),
  /**
   * A valid token whose user is not on the account. The brief expected "You are not authorized to do this action"
   * (that is Pundit's text, for policy failures); EnsureCurrentAccountHelper#account_accessible_for_user? renders
   * this text instead (read in chatwoot/chatwoot and in the v4.15.1-based noktuaio fork).
   */
  notOnAccount: () => new CwError(401, { error: 'You are not authorized to access this account' }),
  notFound: () => new CwError(404, { error: 'Resource could not be found' }),
  /** Pundit::NotAuthorizedError, rendered by the API base controller's render_unauthorized. */
  notAuthorized: () => new CwError(401, { error: 'You are not authorized to do this action' }),
  unprocessable: (error: string) => new CwError(422, { error }),
  recordInvalid: (errors: Array<[attribute: string, fullMessage: string]>) => new CwError(422, {
    message: errors.map(([, m]) => m).join(', '),
    attributes: [...new Set(errors.map(([a]) => a))],
  }),
  /** Rails' production answer for an unhandled exception in an API controller. */
  internal: () => new CwError(500, { status: 500, error: 'Internal Server Error' }),
};

/** Rails' boolean cast for form values ("false", "0", "off" … are false). */
export function railsBool(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  return ![false, 0, '0', 'f', 'F', 'false', 'FALSE', 'off', 'OFF'].includes(v as never);
}

/** ActiveRecord integer cast for ids: 12, "12" (and "12abc", like String#to_i) → 12; anything else → undefined. */
export function railsInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+/.test(v)) return parseInt(v, 10);
  return undefined;
}

/** Ruby's Object#present? for the values JSON and form params can hold. */
export function present(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === 'string') return v.trim().length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
