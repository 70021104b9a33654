/**
 * The generic HTTP platform adapter (DSK-style CRMs): customer events and statuses become signed JSON events
 * POSTed to the platform's URL; the platform answers through POST /platform/v1/messages. Media travel as
 * signed bridge links, streamed from Meta when the platform fetches them.
 *
 * A customer's conversation id is opaque (`cnv_…`, derived from the id the bridge first knew them by) and
 * remembered under every id they have, so a customer who later shows a phone number stays one conversation;
 * the bridge stores it, never the phone number. Whom a conversation's replies go to is kept encrypted. A
 * `contact` event goes out before a customer's first event and whenever their profile changes.
 *
 * Both are forgotten RETENTION_CUSTOMER_MAPPING_DAYS after the customer's last message (an agent's reply by
 * conversation id keeps the recipient too). The customer's next message makes them again, with a contact event:
 * the conversation id is the same when that message names them by the id they were first known by (a phone number
 * does not change); one first known only by a BSUID who now shows a phone number gets a new one.
 */
import { createHash } from 'node:crypto';
import type { CustomerRef } from '../../core/events';
import type { Recipient } from '../../core/outbound';
import type { ConnectionRecord as AnyConnectionRecord } from '../../store/connections';
import type { ContactLink, ContactLinkRepository } from '../../store/contact-links';
import type { ConversationRecipientRepository } from '../../store/conversation-recipients';
import type { ContactErasure, ErasedCustomer, InboundDelivery, ParsedPlatformRequest, Platform, PlatformMessageRef, PlatformStatus } from '../platform';
import type { GenericPlatformClient } from './client';
import { contactEraseEvent, contactEvent, inboundEvent, profileHash, statusEvent, type EventContext } from './events';
import type { MediaLinks } from './media-links';
import { phoneDigits, replyCommand, validateReplyRequest } from './request';

type ConnectionRecord = AnyConnectionRecord<'generic'>;

function idsOf(customer: CustomerRef): string[] {
  return [...new Set([customer.id, customer.bsuid].filter((v): v is string => Boolean(v)))];
}

/** A conversation id for the wire and the bridge's records: stable per customer, and not their phone number. */
export function conversationKey(connectionId: string, customerId: string): string {
  return `cnv_${createHash('sha256').update(`${connectionId}\u0000conversation\u0000${customerId}`).digest('base64url').slice(0, 22)}`;
}

export class GenericPlatform implements Platform<'generic'> {
  readonly kind = 'generic';
  readonly media = 'links';

  constructor(
    private readonly deps: {
      client: GenericPlatformClient;
      links: ContactLinkRepository;
      recipients: ConversationRecipientRepository;
      mediaLinks: MediaLinks;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private ctx(conn: ConnectionRecord, conversationId: string): EventContext {
    return { connectionId: conn.id, channel: conn.channel, conversationId };
  }

  /** What the bridge remembers of a customer under any of their ids. */
  private async known(conn: ConnectionRecord, customerIds: string[]): Promise<ContactLink | null> {
    for (const id of customerIds) {
      const link = await this.deps.links.get(conn.id, id);
      if (link) return link;
    }
    return null;
  }

  /** The customer's conversation id; tells the platform who they are first when that is new or changed. */
  private async conversationOf(conn: ConnectionRecord, customer: CustomerRef, occurredAtMs: number): Promise<string> {
    const ids = idsOf(customer);
    const known = await this.known(conn, ids);
    const conversationId = known?.platformConversationId ?? conversationKey(conn.id, customer.id);
    const hash = profileHash(customer);
    const recipient = { id: customer.id, phone: customer.phone };
    if (known?.profileHash !== hash) {
      await this.deps.client.send(conn, contactEvent(this.ctx(conn, conversationId), customer, occurredAtMs));
      await this.deps.recipients.remember(conn.id, conversationId, recipient);
      await this.deps.links.set(conn.id, ids, { platformContactId: conversationId, platformConversationId: conversationId, profileHash: hash });
    } else {
      // Known and unchanged: the message still counts as a use of whom replies go to (at most one write a day).
      await this.deps.recipients.keep(conn.id, conversationId, recipient);
    }
    return conversationId;
  }

  /**
   * POSTs the event. A retry of an interrupted attempt sends the same event id again: the platform dedupes by
   * its Idempotency-Key, so `mayAlreadyExist` needs no lookup here.
   */
  async deliverInbound(conn: ConnectionRecord, delivery: InboundDelivery): Promise<PlatformMessageRef> {
    const { event } = delivery;
    const conversationId = await this.conversationOf(conn, event.customer, event.timestamp);
    const wire = inboundEvent(this.ctx(conn, conversationId), delivery, (ref) => this.deps.mediaLinks.mint(conn.id, ref, this.now()));
    await this.deps.client.send(conn, wire);
    return { conversationId, messageId: event.externalId };
  }

  async updateStatus(conn: ConnectionRecord, ref: PlatformMessageRef, status: PlatformStatus, reason?: string): Promise<void> {
    await this.deps.client.send(conn, statusEvent(this.ctx(conn, ref.conversationId), ref.messageId, status, reason, this.now()));
  }

  async reportFailure(conn: ConnectionRecord, ref: PlatformMessageRef, reason: string): Promise<void> {
    await this.updateStatus(conn, ref, 'failed', reason);
  }

  /**
   * A reply names its conversation (then it goes to the customer remembered for it) or its customer (to write
   * first, or to pick the number): both are resolved here, so the command carries its recipient.
   */
  async parseRequest(conn: ConnectionRecord, body: unknown): Promise<ParsedPlatformRequest> {
    const checked = validateReplyRequest(body);
    if ('invalid' in checked) return checked;
    const req = checked.request;
    let conversationId = req.conversation_id;
    let recipient: Recipient | null;
    if (req.customer) {
      recipient = { id: req.customer.id, phone: phoneDigits(req.customer.phone) };
      conversationId ??= (await this.known(conn, [req.customer.id]))?.platformConversationId ?? conversationKey(conn.id, req.customer.id);
    } else {
      recipient = await this.deps.recipients.recipientOf(conn.id, conversationId!);
      if (!recipient) {
        return { invalid: [`"conversation_id" is not a conversation of this connection, or its customer has not written for RETENTION_CUSTOMER_MAPPING_DAYS and it was forgotten; to write to them, give "customer"`] };
      }
    }
    return { command: replyCommand(req, conversationId!, recipient, this.now()), commandId: `message:${req.message_id}` };
  }

  /** The customer's profile arrived late or changed: a contact event, when the platform has not seen it yet. */
  async updateContact(conn: ConnectionRecord, customer: CustomerRef): Promise<void> {
    await this.conversationOf(conn, customer, this.now());
  }

  /**
   * An erased end user: a signed `contact.erase` event per conversation the bridge knew them by. The platform does
   * the deleting; its 2xx is the acknowledgement.
   */
  async eraseContact(conn: ConnectionRecord, customer: ErasedCustomer): Promise<ContactErasure> {
    const conversations = customer.conversationIds.length > 0 ? customer.conversationIds : [conversationKey(conn.id, customer.ids[0]!)];
    for (const conversationId of new Set(conversations)) {
      await this.deps.client.send(conn, contactEraseEvent(this.ctx(conn, conversationId), customer.ids, this.now()));
    }
    return { outcome: 'requested' };
  }

  /** The generic API has no "conversation resolved": a customer's conversation id never changes, nothing to forget. */
  async forgetConversation(): Promise<void> {
    // Nothing is cached per conversation beyond the stable customer → conversation id.
  }
}
