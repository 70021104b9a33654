/**
 * Conversations and messages in the fake Chatwoot (chatwoot-api-notes §2.4–2.6): conversation create with
 * ContactInboxBuilder, toggle_status, message create (flood guard, 15 attachments, reply-context resolution,
 * reopen on incoming), and the status PATCH with StatusUpdateService's rules.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CONTENT_TYPES, CONVERSATION_STATUSES, MESSAGE_STATUSES, MESSAGE_TYPES, cwErrors, isObject, present, railsBool, railsInt,
  type Attachment, type Contact, type Conversation, type ConversationStatus, type Json, type Message, type MessageStatus, type User,
} from './model';
import { RecordNotUnique, type ChatwootState } from './state';

export interface NewFile {
  filename: string;
  mimeType: string;
  bytes: Buffer;
}

export function fileType(mimeType: string): Attachment['fileType'] {
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  if (base.startsWith('image/')) return 'image';
  if (base.startsWith('video/')) return 'video';
  if (base.startsWith('audio/')) return 'audio';
  return 'file';
}

/** POST /conversations (ConversationsController#create before_actions + ConversationBuilder). */
export function createConversation(state: ChatwootState, accountId: number, user: User, p: Json): Conversation {
  const inbox = present(p.inbox_id) ? state.inboxOf(accountId, p.inbox_id) : undefined;
  const contact = present(p.contact_id) ? state.contactOf(accountId, p.contact_id) : undefined;
  let contactInbox;
  try {
    contactInbox = inbox && contact ? state.buildContactInbox(contact, inbox, p.source_id) : undefined;
  } catch (err) {
    if (err instanceof RecordNotUnique) throw cwErrors.unprocessable('source_id should be unique');
    throw err;
  }
  // Legacy fallback: only a source_id → ContactInbox.find_by!(source_id) in ANY inbox (notes say avoid it).
  contactInbox ??= [...state.contactInboxes.values()].find((ci) => p.source_id !== undefined && p.source_id !== null && ci.sourceId === String(p.source_id));
  if (!contactInbox) throw cwErrors.notFound();
  const ciInbox = state.inboxes.get(contactInbox.inboxId)!;
  if (ciInbox.accountId !== accountId) throw cwErrors.notFound();
  let status: ConversationStatus = 'open';
  if (present(p.status)) {
    // An unknown enum value is an ArgumentError Rails does not handle → 500.
    if (!(CONVERSATION_STATUSES as readonly string[]).includes(String(p.status))) throw cwErrors.internal();
    status = p.status as ConversationStatus;
  }
  const owner = state.contacts.get(contactInbox.contactId)!;
  if (owner.blocked) status = 'resolved';
  const now = Date.now();
  const conv: Conversation = {
    id: state.next('conversation'), displayId: state.nextDisplayId(accountId), accountId, inboxId: ciInbox.id,
    contactId: contactInbox.contactId, contactInboxId: contactInbox.id, uuid: randomUUID(), status,
    additionalAttributes: isObject(p.additional_attributes) ? p.additional_attributes : {},
    customAttributes: isObject(p.custom_attributes) ? p.custom_attributes : {}, assigneeId: null,
    createdAt: now, updatedAt: now, lastActivityAt: now, agentLastSeenAt: null, contactLastSeenAt: null,
    firstReplyCreatedAt: null, waitingSince: null, snoozedUntil: null,
  };
  state.conversations.set(conv.id, conv);
  state.emit({ event: 'conversation_created', conversationId: conv.id });
  if (isObject(p.message) && present(p.message)) {
    try {
      createMessage(state, conv, user, p.message, []);
    } catch (err) {
      state.conversations.delete(conv.id);
      throw err;
    }
  }
  return conv;
}

export function setConversationStatus(state: ChatwootState, conv: Conversation, status: ConversationStatus): void {
  if (conv.status === status) return;
  const previous = conv.status;
  conv.status = status;
  conv.updatedAt = Date.now();
  if (status !== 'snoozed') conv.snoozedUntil = null;
  state.emit({ event: 'conversation_status_changed', conversationId: conv.id });
  state.emit({ event: 'conversation_updated', conversationId: conv.id, changed: { status: { previous_value: previous, current_value: status } } });
}

/** POST /conversations/:id/toggle_status: a given status is set; none toggles open ↔ resolved (pending/snoozed → open). */
export function toggleStatus(state: ChatwootState, conv: Conversation, p: Json): void {
  if (present(p.status)) {
    if (!(CONVERSATION_STATUSES as readonly string[]).includes(String(p.status))) throw cwErrors.internal();
    setConversationStatus(state, conv, p.status as ConversationStatus);
    if (p.status === 'snoozed' && present(p.snoozed_until)) {
      const n = Number(p.snoozed_until);
      conv.snoozedUntil = Number.isFinite(n) ? n * 1000 : Date.parse(String(p.snoozed_until)) || null;
    }
    return;
  }
  setConversationStatus(state, conv, conv.status === 'open' ? 'resolved' : 'open');
}

function messageTypeOf(v: unknown): Message['messageType'] {
  if (v === undefined || v === null || v === '') return 1;
  if (typeof v === 'number' && v >= 0 && v <= 3 && Number.isInteger(v)) return v as Message['messageType'];
  const i = (MESSAGE_TYPES as readonly string[]).indexOf(String(v));
  if (i < 0) throw cwErrors.unprocessable(`'${String(v)}' is not a valid message_type`);
  return i as Message['messageType'];
}

function contentAttributesOf(v: unknown): Json {
  if (v === undefined || v === null || v === '') return {};
  if (isObject(v)) return { ...v };
  if (typeof v === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw cwErrors.unprocessable(`unexpected token at '${v.slice(0, 40)}'`);
    }
    if (isObject(parsed)) return parsed;
  }
  throw cwErrors.unprocessable('content_attributes must be an object');
}

/**
 * Messages::InReplyToMessageBuilder as run before save: with in_reply_to, look it up by id in this conversation
 * (no fallback to source_id); else with in_reply_to_external_id, by source_id. Both keys are rewritten from the
 * message found, or both become null when none is.
 */
export function resolveReplyTo(state: ChatwootState, conv: Conversation, attrs: Json): void {
  const byId = attrs.in_reply_to;
  const byExternal = attrs.in_reply_to_external_id;
  if (!present(byId) && !present(byExternal)) return;
  const inConv = state.messagesOf(conv);
  const found = present(byId)
    ? inConv.find((m) => m.id === railsInt(byId))
    : inConv.find((m) => m.sourceId !== null && m.sourceId === String(byExternal));
  attrs.in_reply_to_external_id = found?.sourceId ?? null;
  attrs.in_reply_to = found?.id ?? null;
}

/** Messages::MessageBuilder + Message validations/callbacks. Files come from multipart `attachments[]`. */
export function createMessage(state: ChatwootState, conv: Conversation, user: User, p: Json, files: NewFile[]): Message {
  const messageType = messageTypeOf(p.message_type);
  // "Incoming messages are only allowed in Api inboxes": every inbox of this fake is an API inbox.
  const contentType = present(p.content_type) ? String(p.content_type) : 'text';
  if (!CONTENT_TYPES.includes(contentType)) throw cwErrors.unprocessable(`'${contentType}' is not a valid content_type`);
  const attrs = contentAttributesOf(p.content_attributes);
  if (present(p.external_created_at)) attrs.external_created_at = p.external_created_at;
  const content = p.content === undefined || p.content === null ? null : String(p.content);
  if (content && content.length > 150_000) throw cwErrors.unprocessable('Validation failed: Content is too long (maximum is 150000 characters)');
  if (files.length > 15) throw cwErrors.unprocessable('Validation failed: Attachments exceeded maximum allowed');
  const now = Date.now();
  const lastMinute = state.messagesOf(conv).filter((m) => m.createdAt >= now - 60_000).length;
  if (lastMinute >= state.floodLimit) throw cwErrors.unprocessable('Validation failed: Too many messages');
  resolveReplyTo(state, conv, attrs);
  const additional: Json = {};
  if (isObject(p.template_params) && present(p.template_params)) additional.template_params = p.template_params;
  const id = state.next('message');
  const message: Message = {
    id, accountId: conv.accountId, inboxId: conv.inboxId, conversationId: conv.id, content, messageType, contentType,
    contentAttributes: attrs, additionalAttributes: additional, private: railsBool(p.private),
    sourceId: p.source_id === undefined || p.source_id === null ? null : String(p.source_id), status: 'sent',
    // MessageBuilder#sender: outgoing → the token's user; every other type → the conversation's contact.
    sender: messageType === 1 ? { type: 'User', id: user.id } : { type: 'Contact', id: conv.contactId },
    echoId: present(p.echo_id) ? String(p.echo_id) : undefined, createdAt: now, updatedAt: now,
    attachments: files.map((f) => ({
      id: state.next('attachment'), messageId: id, accountId: conv.accountId, fileType: fileType(f.mimeType),
      contentType: f.mimeType, filename: f.filename || 'file', bytes: f.bytes, blobKey: randomBytes(20).toString('base64url'),
    })),
  };
  state.messages.set(id, message);
  afterCreate(state, conv, message);
  return message;
}

function afterCreate(state: ChatwootState, conv: Conversation, m: Message): void {
  conv.lastActivityAt = m.createdAt;
  conv.updatedAt = m.createdAt;
  state.emit({ event: 'message_created', messageId: m.id });
  if (m.messageType === 0) {
    // Message#reopen_conversation (skipped for muted conversations, which this fake does not have).
    if (conv.status === 'resolved' || conv.status === 'snoozed') setConversationStatus(state, conv, 'open');
    conv.waitingSince ??= m.createdAt;
    const contact: Contact | undefined = state.contacts.get(conv.contactId);
    if (contact) contact.lastActivityAt = m.createdAt;
  } else if (m.messageType === 1 && !m.private && m.sender?.type === 'User') {
    conv.firstReplyCreatedAt ??= m.createdAt;
    conv.waitingSince = null;
  }
}

/**
 * DELETE …/messages/:id (MessagesController#destroy, read in chatwoot/chatwoot): the message stays, its content
 * becomes "This message was deleted", content_attributes become { deleted: true }, attachments are destroyed.
 */
export function deleteMessage(state: ChatwootState, m: Message): void {
  m.content = 'This message was deleted';
  m.contentType = 'text';
  m.contentAttributes = { deleted: true };
  m.attachments = [];
  m.updatedAt = Date.now();
  state.emit({ event: 'message_updated', messageId: m.id });
}

/**
 * PATCH …/messages/:id (Messages::StatusUpdateService): an unknown status is a no-op; read → delivered is ignored;
 * external_error is kept only with failed (and cleared otherwise). message_updated fires only when something changed.
 */
export function updateMessageStatus(state: ChatwootState, m: Message, status: unknown, externalError: unknown): void {
  if (!(MESSAGE_STATUSES as readonly string[]).includes(String(status))) return;
  if (m.status === 'read' && status === 'delivered') return;
  const before = JSON.stringify([m.status, m.contentAttributes]);
  m.status = status as MessageStatus;
  const error = status === 'failed' && externalError !== undefined && externalError !== null ? String(externalError) : null;
  // Store accessors only write a key that changes: a missing key stays missing when the new value is nil.
  if (error !== null || m.contentAttributes.external_error !== undefined) m.contentAttributes.external_error = error;
  const conv = state.conversations.get(m.conversationId)!;
  resolveReplyTo(state, conv, m.contentAttributes); // before_save runs again on every save
  if (JSON.stringify([m.status, m.contentAttributes]) === before) return;
  m.updatedAt = Date.now();
  state.emit({ event: 'message_updated', messageId: m.id });
}

