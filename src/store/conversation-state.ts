/**
 * Per platform conversation: when the customer last wrote and which message that was. It decides the 24-hour
 * customer-service window before a free-form reply is sent, and which message to mark read on WhatsApp.
 * Ids and a timestamp only; the key is a hash.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';

interface ConversationStateDoc {
  _id: string;
  connectionId: string;
  lastInboundAt: Date;
  lastInboundExternalId: string;
  expiresAt: Date;
}

const schema = new Schema<ConversationStateDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    lastInboundAt: { type: Date, required: true },
    lastInboundExternalId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'conversation_state' },
);
schema.index({ connectionId: 1 });

export interface ConversationState {
  lastInboundAt: Date;
  lastInboundExternalId: string;
}

export class ConversationStateRepository {
  readonly model: Model<ConversationStateDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<ConversationStateDoc>('ConversationState', schema);
  }

  static keyOf(connectionId: string, platformConversationId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000${platformConversationId}`).digest('base64url');
  }

  /**
   * Moves the window forward only: a late, older message never shortens it. Equal times update too (Meta's clock
   * has one-second steps and lanes deliver in order).
   *
   * The "only forward" check is made on the document read by `_id`, not in the update's filter: FerretDB 1.x runs
   * a filter of `_id` alone as an index lookup but scans (and decodes) the whole collection for `_id` plus any other
   * condition, which cost ~40 ms of database CPU per customer message at 1,000 conversations (npm run bench). The
   * read and the write cannot be interleaved with another write for this conversation: its customer's lane hands
   * the bridge one message at a time.
   */
  async noteInbound(connectionId: string, platformConversationId: string, at: Date, externalId: string): Promise<void> {
    const _id = ConversationStateRepository.keyOf(connectionId, platformConversationId);
    const current = await this.model.findById(_id).lean<ConversationStateDoc>();
    if (current && current.lastInboundAt.getTime() > at.getTime()) return;
    const expiresAt = new Date(at.getTime() + this.retentionMs);
    await this.model.updateOne(
      { _id },
      { $set: { lastInboundAt: at, lastInboundExternalId: externalId, expiresAt }, $setOnInsert: { connectionId } },
      { upsert: true },
    );
  }

  async get(connectionId: string, platformConversationId: string): Promise<ConversationState | null> {
    const doc = await this.model.findById(ConversationStateRepository.keyOf(connectionId, platformConversationId)).lean<ConversationStateDoc>();
    return doc ? { lastInboundAt: doc.lastInboundAt, lastInboundExternalId: doc.lastInboundExternalId } : null;
  }
}
