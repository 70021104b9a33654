/**
 * The Chatwoot platform adapter: contact → conversation → message, with the ids cached so a warm customer costs
 * one Chatwoot call per message. A cached conversation Chatwoot no longer knows (404) is forgotten and found again.
 */
import type { Platform, InboundDelivery, ParsedPlatformRequest, PlatformMessageRef, PlatformStatus, ErasedCustomer, ContactErasure } from '../platform';
import type { ConnectionRecord as AnyConnectionRecord } from '../../store/connections';
import type { ContactLinkRepository, ContactLink } from '../../store/contact-links';
import { ChatwootClient, ChatwootNotFound } from './client';
import type { ErrorObserver } from '../../core/errors';
import { contactProfile, customerIds, findOrCreateContact, findOrCreateConversation } from './contacts';
import type { CustomerRef } from '../../core/events';
import { createIncomingMessage, findRecentBySourceId } from './inbound';
import { parseChatwootWebhook } from './webhook';
import { eraseChatwootContact } from './erase';

type ConnectionRecord = AnyConnectionRecord<'chatwoot'>;

export class ChatwootPlatform implements Platform<'chatwoot'> {
  readonly kind = 'chatwoot';
  readonly media = 'bytes';
  private readonly clients = new Map<string, ChatwootClient>();

  constructor(private readonly links: ContactLinkRepository, private readonly timeoutMs: number, private readonly onError?: ErrorObserver) {}

  client(conn: ConnectionRecord): ChatwootClient {
    const key = `${conn.id}:${conn.platform.baseUrl}:${conn.platform.accountId}:${conn.platform.apiToken}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new ChatwootClient(conn.platform, this.timeoutMs, this.onError);
      this.clients.set(key, client);
    }
    return client;
  }

  private async link(conn: ConnectionRecord, delivery: InboundDelivery, fresh: boolean): Promise<ContactLink> {
    const customer = delivery.event.customer;
    const ids = customerIds(customer);
    if (!fresh) {
      for (const id of ids) {
        const cached = await this.links.get(conn.id, id);
        if (cached) return cached;
      }
    }
    const client = this.client(conn);
    const { contactId, sourceId } = await findOrCreateContact(client, conn.platform.inboxId, customer, delivery.event.channel);
    const conversationId = await findOrCreateConversation(client, conn.platform.inboxId, contactId, sourceId);
    const link = { platformContactId: String(contactId), platformConversationId: String(conversationId) };
    await this.links.set(conn.id, ids, link);
    return link;
  }

  async deliverInbound(conn: ConnectionRecord, delivery: InboundDelivery): Promise<PlatformMessageRef> {
    return this.deliver(conn, delivery, 'incoming');
  }

  /** A message a person sent from the Page inbox or the Instagram app: outgoing, marked external_echo like Chatwoot's own channels. */
  async deliverEcho(conn: ConnectionRecord, delivery: InboundDelivery): Promise<PlatformMessageRef> {
    return this.deliver(conn, delivery, 'outgoing');
  }

  /** DELETE …/messages/{id}: Chatwoot's own unsend handling (content "This message was deleted", files removed). */
  async markDeleted(conn: ConnectionRecord, ref: PlatformMessageRef): Promise<void> {
    await this.client(conn).request('delete', `/conversations/${ref.conversationId}/messages/${ref.messageId}`);
  }

  /** The name and picture that arrived late: PATCH …/contacts/{id} (avatar_url is fetched by Chatwoot). */
  async updateContact(conn: ConnectionRecord, customer: CustomerRef): Promise<void> {
    for (const id of customerIds(customer)) {
      const link = await this.links.get(conn.id, id);
      if (!link) continue;
      await this.client(conn).patch(`/contacts/${link.platformContactId}`, contactProfile(customer, conn.channel));
      return;
    }
  }

  /** An erased end user's contact: deleted with its conversations, or anonymised where the token may not delete. */
  async eraseContact(conn: ConnectionRecord, customer: ErasedCustomer): Promise<ContactErasure> {
    return eraseChatwootContact(this.client(conn), conn.platform.inboxId, customer);
  }

  private async deliver(conn: ConnectionRecord, delivery: InboundDelivery, messageType: 'incoming' | 'outgoing'): Promise<PlatformMessageRef> {
    const client = this.client(conn);
    for (const fresh of [false, true]) {
      const link = await this.link(conn, delivery, fresh);
      const conversationId = Number(link.platformConversationId);
      try {
        if (delivery.mayAlreadyExist) {
          const existing = await findRecentBySourceId(client, conversationId, delivery.event.externalId);
          if (existing !== undefined) return { conversationId: link.platformConversationId, messageId: String(existing) };
        }
        const messageId = await createIncomingMessage(client, conversationId, delivery, messageType);
        return { conversationId: link.platformConversationId, messageId: String(messageId) };
      } catch (err) {
        if (!(err instanceof ChatwootNotFound) || fresh) throw err;
        await this.links.forget(conn.id, customerIds(delivery.event.customer));
      }
    }
    throw new Error('unreachable');
  }

  /** PATCH …/messages/{id} (Chatwoot ≥ 4.2, API inboxes): external_error is kept only with failed. */
  async updateStatus(conn: ConnectionRecord, ref: PlatformMessageRef, status: PlatformStatus, reason?: string): Promise<void> {
    await this.client(conn).patch(`/conversations/${ref.conversationId}/messages/${ref.messageId}`, {
      status,
      ...(status === 'failed' && reason ? { external_error: reason } : {}),
    });
  }

  async reportFailure(conn: ConnectionRecord, ref: PlatformMessageRef, reason: string): Promise<void> {
    await this.updateStatus(conn, ref, 'failed', reason);
  }

  /** An inbox webhook (signature already checked by the edge) → a reply, typing or resolved command. */
  async parseRequest(conn: ConnectionRecord, body: unknown): Promise<ParsedPlatformRequest> {
    const parsed = parseChatwootWebhook(body, conn.platform.inboxId);
    return 'ignored' in parsed ? parsed : { command: parsed.command, commandId: parsed.deliveryKey };
  }

  async forgetConversation(conn: ConnectionRecord, customerIds: string[]): Promise<void> {
    await this.links.forget(conn.id, customerIds);
  }

  /**
   * Sets agent_reply_time_window so Chatwoot's composer shows the window (the API inbox has no UI for it).
   * additional_attributes is replaced wholesale by Chatwoot, so both keys are sent. Needs an admin token;
   * with an agent token Chatwoot answers 401 and the window is simply enforced by the bridge alone.
   */
  async prepareInbox(conn: ConnectionRecord, replyWindowHours: number, windowClosedMessage?: string): Promise<void> {
    const root = new ChatwootClient({ ...conn.platform }, this.timeoutMs, this.onError);
    await root.patch(`/inboxes/${conn.platform.inboxId}`, {
      channel: {
        additional_attributes: {
          agent_reply_time_window: replyWindowHours,
          agent_reply_time_window_message: windowClosedMessage
            ?? `The ${replyWindowHours}-hour window to reply freely has closed. Send an approved template (type /template name language | param …).`,
        },
      },
    });
  }
}
