/**
 * Generic platforms name a conversation by an opaque id (`cnv_…`, never a phone number); a reply addressed only
 * by that id goes to the customer remembered here. The customer's ids are Fernet-encrypted with their key id
 * beside them, and the key is a hash, so MongoDB holds no phone number in clear.
 *
 * Forgotten RETENTION_CUSTOMER_MAPPING_DAYS after the last message that used it: the customer's (which writes it
 * again when it is gone) or an agent's reply addressed by the conversation id. Its expiry is pushed forward at
 * most once a day (sliding-expiry.ts); this process remembers only that expiry, never the decrypted recipient.
 * A reply to a conversation forgotten this way is refused with a reason the platform can show (400), until the
 * customer writes again or the reply names the customer. Reads and writes name `_id` alone (FerretDB scans the
 * whole collection for any other filter; see inbound-keys.ts), except the start-up backfill and erasure.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { Recipient } from '../core/outbound';
import { SlidingExpiry } from './sliding-expiry';

interface ConversationRecipientDoc {
  _id: string;
  connectionId: string;
  recipient: { ct: string; kid: string };
  updatedAt: Date;
  /** Absent on recipients written before they expired, until their first use or the start-up backfill. */
  expiresAt?: Date;
}

const schema = new Schema<ConversationRecipientDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    recipient: {
      type: new Schema({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false }),
      required: true,
    },
    expiresAt: { type: Date, required: false },
  },
  { timestamps: { createdAt: false, updatedAt: true }, versionKey: false, collection: 'conversation_recipients' },
);
schema.index({ connectionId: 1 });

export class ConversationRecipientRepository {
  readonly model: Model<ConversationRecipientDoc>;
  /** Per conversation key: the expiry this process last read or wrote (no recipient is kept in memory). */
  private readonly seen: SlidingExpiry<true>;

  constructor(db: MongoConnection, private readonly keys: KeyRing, retentionMs: number, clock: () => number = Date.now) {
    this.model = db.model<ConversationRecipientDoc>('ConversationRecipient', schema);
    this.seen = new SlidingExpiry(retentionMs, clock);
  }

  static keyOf(connectionId: string, conversationId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000${conversationId}`).digest('base64url');
  }

  async remember(connectionId: string, conversationId: string, recipient: Recipient): Promise<void> {
    const _id = ConversationRecipientRepository.keyOf(connectionId, conversationId);
    const { token, keyId } = this.keys.encrypt(JSON.stringify(recipient));
    const expiresAt = this.seen.fromNow();
    await this.model.updateOne({ _id }, { $set: { connectionId, recipient: { ct: token, kid: keyId }, expiresAt } }, { upsert: true });
    this.seen.note(_id, true, expiresAt);
  }

  /**
   * A customer's message in this conversation: pushes the expiry forward when it is due, and writes the recipient
   * again when it is gone (expired, or never written). Costs nothing while this process pushed it within a day.
   */
  async keep(connectionId: string, conversationId: string, recipient: Recipient): Promise<void> {
    const _id = ConversationRecipientRepository.keyOf(connectionId, conversationId);
    if (this.seen.fresh(_id)) return;
    const doc = await this.model.findById(_id, { expiresAt: 1 }).lean<Pick<ConversationRecipientDoc, '_id' | 'expiresAt'>>();
    if (!doc || this.seen.expired(doc.expiresAt)) {
      await this.remember(connectionId, conversationId, recipient);
      return;
    }
    await this.pushIfDue(_id, doc.expiresAt);
  }

  /** Whom a reply in this conversation goes to; null when unknown or forgotten. The reply is a use (see keep). */
  async recipientOf(connectionId: string, conversationId: string): Promise<Recipient | null> {
    const _id = ConversationRecipientRepository.keyOf(connectionId, conversationId);
    const doc = await this.model.findById(_id).lean<ConversationRecipientDoc>();
    if (!doc || this.seen.expired(doc.expiresAt)) return null;
    const recipient = JSON.parse(this.keys.decrypt(doc.recipient.ct)) as Recipient;
    await this.pushIfDue(_id, doc.expiresAt);
    return recipient;
  }

  /** Erasure: what is stored, expired or not, without counting as a use. */
  async storedRecipientOf(connectionId: string, conversationId: string): Promise<Recipient | null> {
    const doc = await this.model.findById(ConversationRecipientRepository.keyOf(connectionId, conversationId)).lean<ConversationRecipientDoc>();
    return doc ? (JSON.parse(this.keys.decrypt(doc.recipient.ct)) as Recipient) : null;
  }

  /** See ContactLinkRepository.backfillExpiry: recipients from before expiry get a full retention from now. */
  async backfillExpiry(): Promise<number> {
    const res = await this.model.updateMany({ expiresAt: { $exists: false } }, { $set: { expiresAt: this.seen.fromNow() } }, { timestamps: false });
    return res.modifiedCount;
  }

  private async pushIfDue(_id: string, stored: Date | undefined): Promise<void> {
    let expiresAt = stored;
    if (!expiresAt || this.seen.due(expiresAt)) {
      expiresAt = this.seen.fromNow();
      // Not an upsert: a recipient erased meanwhile stays gone.
      await this.model.updateOne({ _id }, { $set: { expiresAt } });
    }
    this.seen.note(_id, true, expiresAt);
  }
}
