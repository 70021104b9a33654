/**
 * JSON shapes of the fake Chatwoot, key order kept: REST responses (_message, _conversation, _contact jbuilders)
 * and webhook payloads (Message#webhook_data, Conversations::EventDataPresenter, push_event_data), as described
 * in chatwoot-api-notes §1.7 / §2.2–2.5 / §6 and the synth-v4.15.1-*.json examples. Quirks kept on purpose:
 * message_type is a string at the webhook's top level and an integer everywhere else; the webhook's top-level
 * created_at is an ISO string, integers elsewhere; conversation ids are display ids.
 */
import { sha256Hex } from '../http-fake';
import type { Attachment, Contact, ContactInbox, Conversation, Inbox, Json, Message, User } from './model';
import { MESSAGE_TYPES } from './model';
import type { ChatwootState } from './state';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const secs = (ms: number | null): number => (ms === null ? 0 : Math.floor(ms / 1000));

export class Views {
  constructor(private readonly state: ChatwootState, private readonly baseUrl: () => string) {}

  account(accountId: number): Json {
    const a = this.state.accounts.get(accountId)!;
    return { id: a.id, name: a.name };
  }

  inboxSlim(inbox: Inbox): Json {
    return { id: inbox.id, avatar_url: '', channel_id: inbox.channelId, name: inbox.name, channel_type: 'Channel::Api', provider: null };
  }

  contactInbox(ci: ContactInbox): Json {
    return { source_id: ci.sourceId, inbox: this.inboxSlim(this.state.inboxes.get(ci.inboxId)!) };
  }

  contact(c: Contact, withContactInboxes = true): Json {
    return {
      additional_attributes: c.additionalAttributes, availability_status: 'offline', email: c.email, id: c.id, name: c.name,
      phone_number: c.phoneNumber, blocked: c.blocked, identifier: c.identifier, thumbnail: c.avatarUrl ?? '',
      custom_attributes: c.customAttributes, last_activity_at: c.lastActivityAt === null ? null : secs(c.lastActivityAt),
      created_at: secs(c.createdAt),
      ...(withContactInboxes ? { contact_inboxes: this.state.contactInboxesOf(c.id).map((ci) => this.contactInbox(ci)) } : {}),
    };
  }

  contactPush(c: Contact): Json {
    return {
      additional_attributes: c.additionalAttributes, custom_attributes: c.customAttributes, email: c.email, id: c.id,
      identifier: c.identifier, name: c.name, phone_number: c.phoneNumber, thumbnail: c.avatarUrl ?? '', blocked: c.blocked, type: 'contact',
    };
  }

  userPush(u: User): Json {
    return { id: u.id, name: u.name, available_name: u.name, avatar_url: '', type: 'user', availability_status: 'online', thumbnail: '' };
  }

  private senderOf(m: Message): { user?: User; contact?: Contact } {
    if (m.sender?.type === 'Contact') return { contact: this.state.contacts.get(m.sender.id) };
    if (m.sender?.type === 'User') {
      const id = m.sender.id;
      const users = [...this.state.tokens.values()].map((t) => t.user).concat([...this.state.agents.values()]);
      return { user: users.find((u) => u.id === id) };
    }
    return {};
  }

  senderPush(m: Message): Json | undefined {
    const { user, contact } = this.senderOf(m);
    return contact ? this.contactPush(contact) : user ? this.userPush(user) : undefined;
  }

  dataUrl(a: Attachment): string {
    return `${this.baseUrl()}/rails/active_storage/blobs/redirect/${a.blobKey}/${encodeURIComponent(a.filename)}`;
  }

  /** Attachment#push_event_data (extension + content_type since v4.13). The fake does not decode images: no width/height. */
  attachment(a: Attachment): Json {
    const dot = a.filename.lastIndexOf('.');
    return {
      id: a.id, message_id: a.messageId, file_type: a.fileType, account_id: a.accountId,
      extension: dot > 0 ? a.filename.slice(dot + 1).toLowerCase() : null, content_type: a.contentType, data_url: this.dataUrl(a),
      thumb_url: a.fileType === 'image' ? `${this.baseUrl()}/rails/active_storage/representations/redirect/${a.blobKey}/${encodeURIComponent(a.filename)}` : '',
      file_size: a.bytes.length, width: null, height: null,
      ...(a.fileType === 'audio' ? { transcribed_text: '' } : {}),
    };
  }

  private conv(m: Message): Conversation {
    return this.state.conversations.get(m.conversationId)!;
  }

  /** _message.json.jbuilder: what the REST API answers. */
  message(m: Message): Json {
    const sender = this.senderPush(m);
    return {
      id: m.id, content: m.content, inbox_id: m.inboxId, ...(m.echoId ? { echo_id: m.echoId } : {}),
      conversation_id: this.conv(m).displayId, message_type: m.messageType, content_type: m.contentType, status: m.status,
      content_attributes: m.contentAttributes, created_at: secs(m.createdAt), private: m.private, source_id: m.sourceId,
      ...(sender ? { sender } : {}), ...(m.attachments.length ? { attachments: m.attachments.map((a) => this.attachment(a)) } : {}),
    };
  }

  /** Message#push_event_data (inside conversation.messages[] of webhooks and REST conversations). */
  messagePush(m: Message): Json {
    const conv = this.conv(m);
    const ci = this.state.contactInboxes.get(conv.contactInboxId);
    return {
      id: m.id, content: m.content, account_id: m.accountId, inbox_id: m.inboxId, conversation_id: conv.displayId,
      message_type: m.messageType, created_at: secs(m.createdAt), updated_at: iso(m.updatedAt), private: m.private, status: m.status,
      source_id: m.sourceId, content_type: m.contentType, content_attributes: m.contentAttributes,
      sender_type: m.sender?.type ?? null, sender_id: m.sender?.id ?? null, external_source_ids: {},
      additional_attributes: m.additionalAttributes, processed_message_content: m.content, sentiment: {},
      conversation: { assignee_id: conv.assigneeId, unread_count: this.unread(conv), last_activity_at: secs(conv.lastActivityAt), contact_inbox: { source_id: ci?.sourceId ?? null } },
      ...(m.attachments.length ? { attachments: m.attachments.map((a) => this.attachment(a)) } : {}),
      ...(this.senderPush(m) ? { sender: this.senderPush(m) } : {}),
    };
  }

  private unread(conv: Conversation): number {
    return this.state.messagesOf(conv).filter((m) => m.messageType === 0 && m.createdAt > (conv.agentLastSeenAt ?? 0)).length;
  }

  /** The conversation's last chat message (not activity, not private), as EventDataPresenter#push_messages. */
  private lastChat(conv: Conversation): Json[] {
    const last = this.state.messagesOf(conv).filter((m) => m.messageType !== 2 && !m.private).pop();
    return last ? [this.messagePush(last)] : [];
  }

  /** _conversation.json.jbuilder */
  conversation(conv: Conversation): Json {
    const contact = this.state.contacts.get(conv.contactId)!;
    const lastNonActivity = this.state.messagesOf(conv).filter((m) => m.messageType !== 2).pop();
    return {
      meta: { sender: this.contactPush(contact), channel: 'Channel::Api', hmac_verified: false },
      id: conv.displayId, messages: this.lastChat(conv), account_id: conv.accountId, uuid: conv.uuid,
      additional_attributes: conv.additionalAttributes, agent_last_seen_at: secs(conv.agentLastSeenAt), assignee_last_seen_at: 0,
      can_reply: true, contact_last_seen_at: secs(conv.contactLastSeenAt), custom_attributes: conv.customAttributes,
      inbox_id: conv.inboxId, labels: [], muted: false, snoozed_until: iso(conv.snoozedUntil), status: conv.status,
      created_at: secs(conv.createdAt), updated_at: conv.updatedAt / 1000, timestamp: secs(conv.lastActivityAt),
      first_reply_created_at: iso(conv.firstReplyCreatedAt), unread_count: this.unread(conv),
      last_non_activity_message: lastNonActivity ? this.messagePush(lastNonActivity) : null,
      last_activity_at: secs(conv.lastActivityAt), priority: null, waiting_since: secs(conv.waitingSince), sla_policy_id: null,
    };
  }

  /** Conversations::EventDataPresenter#webhook_data */
  conversationWebhook(conv: Conversation): Json {
    const contact = this.state.contacts.get(conv.contactId)!;
    const ci = this.state.contactInboxes.get(conv.contactInboxId)!;
    return {
      additional_attributes: conv.additionalAttributes, can_reply: true, channel: 'Channel::Api',
      contact_inbox: {
        id: ci.id, contact_id: ci.contactId, inbox_id: ci.inboxId, source_id: ci.sourceId, created_at: iso(ci.createdAt),
        updated_at: iso(ci.updatedAt), hmac_verified: ci.hmacVerified, pubsub_token: ci.pubsubToken,
      },
      id: conv.displayId, inbox_id: conv.inboxId, messages: this.lastChat(conv), labels: [],
      meta: { sender: this.contactPush(contact), assignee: null, assignee_type: null, team: null, hmac_verified: false },
      status: conv.status, custom_attributes: conv.customAttributes, snoozed_until: iso(conv.snoozedUntil),
      unread_count: this.unread(conv), first_reply_created_at: iso(conv.firstReplyCreatedAt), priority: null,
      waiting_since: secs(conv.waitingSince), agent_last_seen_at: secs(conv.agentLastSeenAt), contact_last_seen_at: secs(conv.contactLastSeenAt),
      last_activity_at: secs(conv.lastActivityAt), timestamp: secs(conv.lastActivityAt), created_at: secs(conv.createdAt),
      updated_at: conv.updatedAt / 1000, account: this.account(conv.accountId),
    };
  }

  /** Message#webhook_data + event. Contact senders use Contact#webhook_data (no `type` key), users User#webhook_data. */
  messageWebhook(m: Message, event: string): Json {
    const { user, contact } = this.senderOf(m);
    const inbox = this.state.inboxes.get(m.inboxId)!;
    const sender = contact
      ? { account: this.account(contact.accountId), additional_attributes: contact.additionalAttributes, avatar: contact.avatarUrl ?? '', custom_attributes: contact.customAttributes, email: contact.email, id: contact.id, identifier: contact.identifier, name: contact.name, phone_number: contact.phoneNumber, thumbnail: contact.avatarUrl ?? '', blocked: contact.blocked }
      : user ? { id: user.id, name: user.name, email: user.email, type: 'user' } : null;
    return {
      account: this.account(m.accountId), additional_attributes: m.additionalAttributes, content_attributes: m.contentAttributes,
      content_type: m.contentType, content: normalizeWebhookContent(m.content), conversation: this.conversationWebhook(this.conv(m)),
      created_at: iso(m.createdAt), id: m.id, inbox: { id: inbox.id, name: inbox.name }, message_type: MESSAGE_TYPES[m.messageType],
      private: m.private, sender, source_id: m.sourceId,
      ...(m.attachments.length ? { attachments: m.attachments.map((a) => this.attachment(a)) } : {}),
      event,
    };
  }

  // ── inspection records for tests (not an API shape) ─────────────────────────

  messageRecord(m: Message): MessageRecord {
    return {
      id: m.id, conversation_id: this.conv(m).displayId, inbox_id: m.inboxId, content: m.content, message_type: m.messageType,
      content_type: m.contentType, private: m.private, source_id: m.sourceId, status: m.status,
      content_attributes: structuredClone(m.contentAttributes), sender_type: m.sender?.type ?? null, sender_id: m.sender?.id ?? null,
      created_at: m.createdAt,
      attachments: m.attachments.map((a) => ({
        id: a.id, file_type: a.fileType, filename: a.filename, content_type: a.contentType, byte_length: a.bytes.length,
        sha256: sha256Hex(a.bytes), data_url: this.dataUrl(a), bytes: a.bytes,
      })),
    };
  }

  conversationRecord(c: Conversation): ConversationRecord {
    return {
      id: c.displayId, inbox_id: c.inboxId, contact_id: c.contactId, source_id: this.state.contactInboxes.get(c.contactInboxId)?.sourceId ?? null,
      status: c.status, uuid: c.uuid, created_at: c.createdAt, last_activity_at: c.lastActivityAt,
    };
  }
}

/** Messages::WebhookContentNormalizer: markdown hard-break backslashes dropped, trailing newlines stripped (v4.13/v4.14.2). */
export function normalizeWebhookContent(content: string | null): string | null {
  return content === null ? null : content.replace(/\\\r?\n/g, '\n').replace(/[\r\n]+$/, '');
}

export interface MessageRecord {
  id: number;
  /** Display id of the conversation. */
  conversation_id: number;
  inbox_id: number;
  content: string | null;
  /** 0 incoming, 1 outgoing, 2 activity, 3 template. */
  message_type: number;
  content_type: string;
  private: boolean;
  source_id: string | null;
  status: string;
  content_attributes: Json;
  sender_type: string | null;
  sender_id: number | null;
  /** Epoch milliseconds. */
  created_at: number;
  attachments: Array<{ id: number; file_type: string; filename: string; content_type: string; byte_length: number; sha256: string; data_url: string; bytes: Buffer }>;
}

export interface ConversationRecord {
  /** Display id. */
  id: number;
  inbox_id: number;
  contact_id: number;
  source_id: string | null;
  status: string;
  uuid: string;
  created_at: number;
  last_activity_at: number;
}
