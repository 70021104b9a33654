/**
 * Delivery records: which Meta message became which platform message, and what became of it.
 * Ids, status and timestamps only — never message text, never phone numbers. They expire (TTL + sweeper).
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import type { DeliveryStatus } from '../core/events';

export type Direction = 'inbound' | 'outbound';

interface DeliveryDoc {
  connectionId: string;
  direction: Direction;
  externalId: string;
  platformConversationId: string;
  platformMessageId: string;
  status: DeliveryStatus | 'forwarded';
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export type DeliveryRecord = Omit<DeliveryDoc, 'updatedAt'>;

const schema = new Schema<DeliveryDoc>(
  {
    connectionId: { type: String, required: true },
    direction: { type: String, required: true, enum: ['inbound', 'outbound'] },
    externalId: { type: String, required: true },
    platformConversationId: { type: String, required: true },
    platformMessageId: { type: String, required: true },
    status: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'delivery_records' },
);
schema.index({ connectionId: 1, externalId: 1 }, { unique: true });
schema.index({ connectionId: 1, platformMessageId: 1 });

export class DeliveryRepository {
  readonly model: Model<DeliveryDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<DeliveryDoc>('Delivery', schema);
  }

  /** Records a forwarded message. Idempotent: a repeat for the same Meta id leaves the first record. */
  async record(input: Omit<DeliveryRecord, 'createdAt' | 'expiresAt'>, now = new Date()): Promise<void> {
    await this.model.updateOne(
      { connectionId: input.connectionId, externalId: input.externalId },
      { $setOnInsert: { ...input, expiresAt: new Date(now.getTime() + this.retentionMs) } },
      { upsert: true },
    );
  }

  async findByExternalId(connectionId: string, externalId: string): Promise<DeliveryRecord | null> {
    return this.model.findOne({ connectionId, externalId }).lean<DeliveryRecord>();
  }

  async findByPlatformMessageId(connectionId: string, platformMessageId: string): Promise<DeliveryRecord | null> {
    return this.model.findOne({ connectionId, platformMessageId }).lean<DeliveryRecord>();
  }
}
