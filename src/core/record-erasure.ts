/**
 * What MongoDB holds about a connection or one of its end users, found and deleted.
 *
 * A connection: every record names it (a `connectionId` field, or an `_id` that starts with `<connectionId>:`).
 *
 * An end user: records store no customer id in clear, so they are found the way they were written:
 *   - contact links under the hash of each id they are known by, and every other link to the same platform
 *     contact (a customer known by phone and by BSUID has one link per id, all to one contact);
 *   - the platform conversations those links name, and those their delivery records name (a conversation the
 *     platform closed is no longer linked, but its records still carry the customer's key);
 *   - delivery records by the customer's key or by those conversations, and from them: the platform-message
 *     index, idempotency keys (customer messages, agent replies), held statuses, conversation state;
 *   - generic platforms: whom each conversation's replies go to (sealed: it also reveals their other ids);
 *   - profile fetch state under the hash of each id; dead letters by opening their sealed work.
 * Records written before a customer key was kept on inbound records are found through conversations only; every
 * record expires anyway (PRIVACY.md).
 */
import type { Model } from 'mongoose';
import { ContactLinkRepository } from '../store/contact-links';
import { ConversationRecipientRepository } from '../store/conversation-recipients';
import { ConversationStateRepository } from '../store/conversation-state';
import { DeliveryRepository } from '../store/deliveries';
import { InboundKeyRepository } from '../store/inbound-keys';
import { ProfileStateRepository } from '../store/profiles';
import type { Recipient } from './outbound';
import type { LanePayload } from '../queue/pipeline';
import type { Sealer } from '../queue/sealed';
import { customerIdsIn, payloadConcerns } from '../queue/lane-eraser';
import { conversationKey } from '../platforms/generic';
import { OutboundRelay } from './relay-outbound';

export interface ErasableStores {
  deliveries: Model<any>;
  platformMessages: Model<any>;
  inboundKeys: Model<any>;
  held: Model<any>;
  conversations: Model<any>;
  links: ContactLinkRepository;
  recipients: ConversationRecipientRepository;
  profiles: Model<any>;
  deadLetters: Model<any>;
  /** Opens sealed dead-letter payloads (the same key ring as the lanes). */
  sealer: Sealer;
  /** Other collections that belong to a connection, by the field naming it (e.g. the Chatwoot inbox binding, `_id`). */
  connectionOwned?: Array<{ model: Model<any>; field: string }>;
}

/** Documents removed, by collection name. */
export type RemovedCounts = Record<string, number>;

export interface CustomerFootprint {
  /** Every id the customer turned out to be known by (the ones asked for first). */
  ids: string[];
  /** The platform's contact ids the bridge had linked to them. */
  contactIds: string[];
  /** Their platform conversations. */
  conversationIds: string[];
}

/** At most this many rounds of "new conversation → its records → more conversations"; one or two suffice. */
const MAX_ROUNDS = 4;

export class RecordEraser {
  constructor(private readonly s: ErasableStores) {}

  /** Every record of a connection (its secrets went with the connection document). */
  async eraseConnection(connectionId: string): Promise<RemovedCounts> {
    const { s } = this;
    const byConnection = { connectionId };
    const counts: RemovedCounts = {};
    const remove = async (model: Model<any>, filter: Record<string, unknown>) => {
      counts[model.collection.collectionName] = (await model.deleteMany(filter)).deletedCount ?? 0;
    };
    await remove(s.deliveries, byConnection);
    await remove(s.platformMessages, byConnection);
    // Idempotency keys carry the connection only in their _id (`<connection>:<Meta id>`): a range over it.
    await remove(s.inboundKeys, { _id: { $gte: `${connectionId}:`, $lt: `${connectionId};` } });
    await remove(s.held, byConnection);
    await remove(s.conversations, byConnection);
    await remove(s.links.model, byConnection);
    await remove(s.recipients.model, byConnection);
    await remove(s.profiles, byConnection);
    await remove(s.deadLetters, byConnection);
    for (const { model, field } of s.connectionOwned ?? []) await remove(model, { [field]: connectionId });
    return counts;
  }

  /**
   * Finds everything about one end user of a connection (see the file comment), starting from the ids given and
   * any found in their queued work; deletes it and says where the customer turned out to be known.
   */
  async eraseCustomer(connectionId: string, givenIds: string[], fromQueue: LanePayload[] = []): Promise<{ counts: RemovedCounts; footprint: CustomerFootprint }> {
    const { s } = this;
    const ids = new Set(givenIds);
    for (const payload of fromQueue) for (const id of customerIdsIn(payload)) ids.add(id);
    const conversations = new Set<string>();

    const deadLetters = await this.deadLettersOf(connectionId, ids, conversations);
    // Links: under each id, then every link to the same platform contact (the other ids, seen only as hashes).
    const linkKeys = new Set([...ids].map((id) => ContactLinkRepository.keyOf(connectionId, id)));
    const direct = await s.links.model.find({ _id: { $in: [...linkKeys] } }).lean<LinkDoc[]>();
    const contactIds = [...new Set(direct.map((l) => l.platformContactId))];
    const aliases = contactIds.length > 0
      ? await s.links.model.find({ connectionId, platformContactId: { $in: contactIds } }).lean<LinkDoc[]>()
      : [];
    for (const l of [...direct, ...aliases]) {
      linkKeys.add(l._id);
      conversations.add(l.platformConversationId);
    }
    // Conversations known to have existed, for the platform; the search also tries the id a generic platform's
    // conversation is derived from (the customer's first id), which needs no link to be found.
    const known = new Set(conversations);
    for (const id of ids) conversations.add(conversationKey(connectionId, id));

    const records = new Map<string, DeliveryDoc>();
    for (let round = 0, fresh = [...conversations]; round < MAX_ROUNDS; round++) {
      for (const id of await this.recipientIdsOf(connectionId, fresh)) ids.add(id);
      const keys = [...ids].map((id) => DeliveryRepository.customerKeyOf(connectionId, id));
      const found = await s.deliveries.find({ connectionId, $or: [{ customerKey: { $in: keys } }, { platformConversationId: { $in: [...conversations] } }] })
        .lean<DeliveryDoc[]>();
      for (const r of found) {
        records.set(r._id, r);
        known.add(r.platformConversationId);
      }
      fresh = [...new Set(found.map((r) => r.platformConversationId))].filter((c) => !conversations.has(c));
      if (fresh.length === 0) break;
      for (const c of fresh) conversations.add(c);
    }

    const all = [...records.values()];
    const outbound = all.filter((r) => r.direction === 'outbound');
    const customerKeys = [...ids].map((id) => DeliveryRepository.customerKeyOf(connectionId, id));
    const inboundKeyIds = [
      ...all.map((r) => InboundKeyRepository.key(connectionId, r.externalId)),
      ...outbound.map((r) => OutboundRelay.keyOf({ id: connectionId }, r.platformMessageId)),
      // A dead-lettered or still-queued message never got a record, but may have left its claim.
      ...deadLetters.map((d) => d.eventId.split(':')[1]).filter((x): x is string => Boolean(x)).map((externalId) => InboundKeyRepository.key(connectionId, externalId)),
      ...fromQueue.map((p) => (p.direction === 'inbound'
        ? InboundKeyRepository.key(connectionId, p.event.externalId)
        : p.command.kind === 'reply' ? OutboundRelay.keyOf({ id: connectionId }, p.command.platformMessageId) : '')).filter(Boolean),
    ];
    const counts: RemovedCounts = {};
    const remove = async (model: Model<any>, filter: Record<string, unknown>) => {
      const name = model.collection.collectionName;
      counts[name] = (counts[name] ?? 0) + ((await model.deleteMany(filter)).deletedCount ?? 0);
    };
    await remove(s.deliveries, { _id: { $in: [...records.keys()] } });
    await remove(s.platformMessages, { _id: { $in: outbound.map((r) => DeliveryRepository.idOf(connectionId, r.platformMessageId)) } });
    await remove(s.inboundKeys, { _id: { $in: inboundKeyIds } });
    await remove(s.held, { $or: [
      { _id: { $in: outbound.map((r) => DeliveryRepository.idOf(connectionId, r.externalId)) } },
      { connectionId, customerKey: { $in: customerKeys } },
    ] });
    await remove(s.conversations, { _id: { $in: [...conversations].map((c) => ConversationStateRepository.keyOf(connectionId, c)) } });
    await remove(s.recipients.model, { _id: { $in: [...conversations].map((c) => ConversationRecipientRepository.keyOf(connectionId, c)) } });
    await remove(s.links.model, { _id: { $in: [...linkKeys] } });
    s.links.evict([...linkKeys]);
    await remove(s.profiles, { _id: { $in: [...ids].map((id) => ProfileStateRepository.keyOf(connectionId, id)) } });
    await remove(s.deadLetters, { _id: { $in: deadLetters.map((d) => d._id) } });
    return {
      counts,
      footprint: { ids: [...ids], contactIds, conversationIds: [...known] },
    };
  }

  /** The customer's dead letters, found by opening each of the connection's; their ids and conversations join the search. */
  private async deadLettersOf(connectionId: string, ids: Set<string>, conversations: Set<string>): Promise<Array<{ _id: string; eventId: string }>> {
    const docs = await this.s.deadLetters.find({ connectionId }).lean<Array<{ _id: string; eventId: string; payload?: { ct: string } }>>();
    const matched: Array<{ _id: string; eventId: string }> = [];
    for (const doc of docs) {
      if (!doc.payload) continue;
      let payload: LanePayload;
      try {
        payload = this.s.sealer.open<LanePayload>(doc.payload.ct);
      } catch {
        continue;
      }
      if (!payloadConcerns(payload, { ids, conversations })) continue;
      matched.push({ _id: doc._id, eventId: doc.eventId });
      for (const id of customerIdsIn(payload)) ids.add(id);
      if (payload.direction === 'outbound') conversations.add(payload.command.platformConversationId);
    }
    return matched;
  }

  /** Generic platforms: the (sealed) recipient of each conversation names the customer's id and phone. */
  private async recipientIdsOf(connectionId: string, conversationIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const c of conversationIds) {
      let recipient: Recipient | null = null;
      try {
        recipient = await this.s.recipients.storedRecipientOf(connectionId, c);
      } catch {
        continue; // sealed under a key no longer configured
      }
      if (recipient) out.push(...[recipient.id, recipient.phone].filter((v): v is string => Boolean(v)));
    }
    return out;
  }
}

interface LinkDoc {
  _id: string;
  platformContactId: string;
  platformConversationId: string;
}

interface DeliveryDoc {
  _id: string;
  direction: 'inbound' | 'outbound';
  externalId: string;
  platformConversationId: string;
  platformMessageId: string;
}
