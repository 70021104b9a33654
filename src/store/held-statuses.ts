/**
 * Statuses that arrived before the send they belong to was recorded (Meta's webhook can beat the send
 * response). They are kept here, briefly, and applied as soon as the send is recorded — never dropped.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import type { DeliveryStatus } from '../core/events';

interface HeldStatusDoc {
  connectionId: string;
  externalId: string;
  status: DeliveryStatus;
  error?: string;
  expiresAt: Date;
}

const schema = new Schema<HeldStatusDoc>(
  {
    connectionId: { type: String, required: true },
    externalId: { type: String, required: true },
    status: { type: String, required: true },
    error: String,
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'held_statuses' },
);
schema.index({ connectionId: 1, externalId: 1, status: 1 }, { unique: true });

export class HeldStatusRepository {
  readonly model: Model<HeldStatusDoc>;

  constructor(db: MongoConnection, private readonly retentionMs = 24 * 3600 * 1000) {
    this.model = db.model<HeldStatusDoc>('HeldStatus', schema);
  }

  async hold(connectionId: string, externalId: string, status: DeliveryStatus, error?: string): Promise<void> {
    await this.model.updateOne(
      { connectionId, externalId, status },
      { $setOnInsert: { connectionId, externalId, status, error, expiresAt: new Date(Date.now() + this.retentionMs) } },
      { upsert: true },
    );
  }

  /** Removes and returns what was held for this Meta message. */
  async take(connectionId: string, externalId: string): Promise<Array<{ status: DeliveryStatus; error?: string }>> {
    const held = await this.model.find({ connectionId, externalId }).lean<HeldStatusDoc[]>();
    if (held.length === 0) return [];
    await this.model.deleteMany({ connectionId, externalId });
    return held.map((h) => ({ status: h.status, error: h.error ?? undefined }));
  }
}
