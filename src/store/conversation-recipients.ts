/**
 * Generic platforms name a conversation by an opaque id (`cnv_…`, never a phone number); a reply addressed only
 * by that id goes to the customer remembered here. The customer's ids are Fernet-encrypted with their key id
 * beside them, and the key is a hash, so MongoDB holds no phone number in clear. Kept, like contact links,
 * until the connection goes.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { Recipient } from '../core/outbound';

interface ConversationRecipientDoc {
  _id: string;
  connectionId: string;
  recipient: { ct: string; kid: string };
  updatedAt: Date;
}

const schema = new Schema<ConversationRecipientDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    recipient: {
      type: new Schema({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false }),
      required: true,
    },
  },
  { timestamps: { createdAt: false, updatedAt: true }, versionKey: false, collection: 'conversation_recipients' },
);
schema.index({ connectionId: 1 });

export class ConversationRecipientRepository {
  readonly model: Model<ConversationRecipientDoc>;

  constructor(db: MongoConnection, private readonly keys: KeyRing) {
    this.model = db.model<ConversationRecipientDoc>('ConversationRecipient', schema);
  }

  static keyOf(connectionId: string, conversationId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000${conversationId}`).digest('base64url');
  }

  async remember(connectionId: string, conversationId: string, recipient: Recipient): Promise<void> {
    const { token, keyId } = this.keys.encrypt(JSON.stringify(recipient));
    await this.model.updateOne(
      { _id: ConversationRecipientRepository.keyOf(connectionId, conversationId) },
      { $set: { connectionId, recipient: { ct: token, kid: keyId } } },
      { upsert: true },
    );
  }

  async recipientOf(connectionId: string, conversationId: string): Promise<Recipient | null> {
    const doc = await this.model.findById(ConversationRecipientRepository.keyOf(connectionId, conversationId)).lean<ConversationRecipientDoc>();
    return doc ? (JSON.parse(this.keys.decrypt(doc.recipient.ct)) as Recipient) : null;
  }
}
