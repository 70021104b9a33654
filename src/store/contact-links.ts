/**
 * Which platform contact and conversation a customer maps to, so a warm customer costs one platform call per
 * message. The customer id (a phone number on WhatsApp) is stored only as a salted SHA-256, never in clear.
 * A small in-process cache sits in front; the platform adapter invalidates entries the platform says are gone.
 *
 * A link is forgotten RETENTION_CUSTOMER_MAPPING_DAYS after the last message that used it (sliding-expiry.ts: its
 * expiry is pushed forward at most once a day, so a warm customer still costs no database call). Forgetting is
 * harmless: a missing link is a cache miss, and the adapter finds the contact on the platform again.
 *
 * What a message does reads and writes by `_id` alone (FerretDB scans the whole collection for any other filter;
 * see inbound-keys.ts); only the start-up backfill, the sweeper and erasure filter on anything else.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';
import { SlidingExpiry } from './sliding-expiry';

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
  /** Absent on links written before they expired, until their first use or the start-up backfill. */
  expiresAt?: Date;
}

const schema = new Schema<ContactLinkDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    platformContactId: { type: String, required: true },
    platformConversationId: { type: String, required: true },
    profileHash: { type: String, required: false },
    expiresAt: { type: Date, required: false },
  },
  { timestamps: { createdAt: false, updatedAt: true }, versionKey: false, collection: 'contact_links' },
);
schema.index({ connectionId: 1 });

export class ContactLinkRepository {
  readonly model: Model<ContactLinkDoc>;
  /** The in-process cache: links with the expiry this process last read or wrote. */
  private readonly cache: SlidingExpiry<ContactLink>;

  constructor(db: MongoConnection, retentionMs: number, clock: () => number = Date.now) {
    this.model = db.model<ContactLinkDoc>('ContactLink', schema);
    this.cache = new SlidingExpiry(retentionMs, clock);
  }

  static keyOf(connectionId: string, customerId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000${customerId}`).digest('base64url');
  }

  /** The customer's link, or null (never linked, forgotten, or expired). Finding it is a use: see the file comment. */
  async get(connectionId: string, customerId: string): Promise<ContactLink | null> {
    const key = ContactLinkRepository.keyOf(connectionId, customerId);
    const hit = this.cache.fresh(key);
    if (hit) return hit;
    const doc = await this.model.findById(key).lean<ContactLinkDoc>();
    if (!doc || this.cache.expired(doc.expiresAt)) {
      this.cache.forget(key);
      return null;
    }
    const link: ContactLink = { platformContactId: doc.platformContactId, platformConversationId: doc.platformConversationId };
    if (doc.profileHash) link.profileHash = doc.profileHash;
    let expiresAt = doc.expiresAt;
    if (!expiresAt || this.cache.due(expiresAt)) {
      expiresAt = this.cache.fromNow();
      // Not an upsert: a link erased or swept meanwhile stays gone (this process drops it within a day).
      await this.model.updateOne({ _id: key }, { $set: { expiresAt } });
    }
    this.cache.note(key, link, expiresAt);
    return link;
  }

  async set(connectionId: string, customerIds: string[], link: ContactLink): Promise<void> {
    const expiresAt = this.cache.fromNow();
    await Promise.all(customerIds.map(async (customerId) => {
      const key = ContactLinkRepository.keyOf(connectionId, customerId);
      this.cache.note(key, link, expiresAt);
      await this.model.updateOne({ _id: key }, { $set: { connectionId, ...link, expiresAt } }, { upsert: true });
    }));
  }

  /**
   * Links written before links expired have no expiresAt, and neither the TTL index nor the sweeper would ever
   * remove them. They get a full retention from now: when such a link was last used is not known (updatedAt is
   * when it was written, which for a customer writing every day may be a year ago), and dropping every active
   * customer's link at once would send them all to the platform lookup together. One pass at start-up, harmless
   * to repeat; a link a process of the previous version writes later gets its expiry on its first use.
   */
  async backfillExpiry(): Promise<number> {
    const res = await this.model.updateMany({ expiresAt: { $exists: false } }, { $set: { expiresAt: this.cache.fromNow() } }, { timestamps: false });
    return res.modifiedCount;
  }

  /**
   * Erasure deletes links by their stored keys (some belong to ids it never saw in clear); this drops them from
   * this process's cache too. Other processes' caches hold them at most a day longer: a use after that reads
   * MongoDB again and finds nothing (nothing is written back); unused, they go as they expire or fall out.
   */
  evict(keys: string[]): void {
    for (const key of keys) this.cache.forget(key);
  }

  async forget(connectionId: string, customerIds: string[]): Promise<void> {
    await Promise.all(customerIds.map(async (customerId) => {
      const key = ContactLinkRepository.keyOf(connectionId, customerId);
      this.cache.forget(key);
      await this.model.deleteOne({ _id: key });
    }));
  }
}
