/**
 * Which platform contact and conversation a customer maps to, so a warm customer costs one platform call per
 * message. The customer id (a phone number on WhatsApp) is stored only as a salted SHA-256, never in clear.
 * A small in-process cache sits in front; the platform adapter invalidates entries the platform says are gone.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';

export interface ContactLink {
  platformContactId: string;
  platformConversationId: string;
  /** A fingerprint of the customer profile the platform was last told (generic platform: contact events). */
  profileHash?: string;
}

interface ContactLinkDoc extends ContactLink {
  _id: string;
  connectionId: string;
  updatedAt: Date;
}

const schema = new Schema<ContactLinkDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    platformContactId: { type: String, required: true },
    platformConversationId: { type: String, required: true },
    profileHash: { type: String, required: false },
  },
  { timestamps: { createdAt: false, updatedAt: true }, versionKey: false, collection: 'contact_links' },
);
schema.index({ connectionId: 1 });

/** Least-recently-used map with a size bound; Map keeps insertion order, so re-inserting moves a key to the end. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string): void { this.map.delete(key); }
}

export class ContactLinkRepository {
  readonly model: Model<ContactLinkDoc>;
  private readonly cache = new Lru<ContactLink>(50_000);

  constructor(db: MongoConnection) {
    this.model = db.model<ContactLinkDoc>('ContactLink', schema);
  }

  static keyOf(connectionId: string, customerId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000${customerId}`).digest('base64url');
  }

  async get(connectionId: string, customerId: string): Promise<ContactLink | null> {
    const key = ContactLinkRepository.keyOf(connectionId, customerId);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const doc = await this.model.findById(key).lean<ContactLinkDoc>();
    if (!doc) return null;
    const link: ContactLink = { platformContactId: doc.platformContactId, platformConversationId: doc.platformConversationId };
    if (doc.profileHash) link.profileHash = doc.profileHash;
    this.cache.set(key, link);
    return link;
  }

  async set(connectionId: string, customerIds: string[], link: ContactLink): Promise<void> {
    await Promise.all(customerIds.map(async (customerId) => {
      const key = ContactLinkRepository.keyOf(connectionId, customerId);
      this.cache.set(key, link);
      await this.model.updateOne({ _id: key }, { $set: { connectionId, ...link } }, { upsert: true });
    }));
  }

  /**
   * Erasure deletes links by their stored keys (some belong to ids it never saw in clear); this drops them from
   * this process's cache too. Other processes' caches forget them as they fall out (nothing is written back).
   */
  evict(keys: string[]): void {
    for (const key of keys) this.cache.delete(key);
  }

  async forget(connectionId: string, customerIds: string[]): Promise<void> {
    await Promise.all(customerIds.map(async (customerId) => {
      const key = ContactLinkRepository.keyOf(connectionId, customerId);
      this.cache.delete(key);
      await this.model.deleteOne({ _id: key });
    }));
  }
}
