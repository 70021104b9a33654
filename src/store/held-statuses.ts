/**
 * Statuses that arrived before the send they belong to was recorded (Meta's webhook can beat the send
 * response). They are kept here, briefly, and applied as soon as the send is recorded — never dropped.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import type { DeliveryStatus } from '../core/events';

interface HeldStatusDoc {
  _id: string;
  connectionId: string;
  externalId: string;
  status: DeliveryStatus;
  error?: string;
  expiresAt: Date;
}

const schema = new Schema<HeldStatusDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    externalId: { type: String, required: true },
    status: { type: String, required: true },
    error: String,
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'held_statuses' },
);
// Looked up by _id only (`<connection>:<Meta id>:<status>`): see the note in deliveries.ts on FerretDB.
schema.index({ connectionId: 1 });

const STATUSES: readonly DeliveryStatus[] = ['sent', 'delivered', 'read', 'failed'];
const idOf = (connectionId: string, externalId: string, status: DeliveryStatus) => `${connectionId}:${externalId}:${status}`;

export class HeldStatusRepository {
  readonly model: Model<HeldStatusDoc>;

  constructor(db: MongoConnection, private readonly retentionMs = 24 * 3600 * 1000) {
    this.model = db.model<HeldStatusDoc>('HeldStatus', schema);
  }

  async hold(connectionId: string, externalId: string, status: DeliveryStatus, error?: string): Promise<void> {
    await this.model.updateOne(
      { _id: idOf(connectionId, externalId, status) },
      { $setOnInsert: { connectionId, externalId, status, error, expiresAt: new Date(Date.now() + this.retentionMs) } },
      { upsert: true },
    );
  }

  /** Removes and returns what was held for this Meta message. */
  async take(connectionId: string, externalId: string): Promise<Array<{ status: DeliveryStatus; error?: string }>> {
    const ids = STATUSES.map((status) => idOf(connectionId, externalId, status));
    const held = (await Promise.all(ids.map((id) => this.model.findById(id).lean<HeldStatusDoc>()))).filter((h): h is HeldStatusDoc => h !== null);
    if (held.length === 0) return [];
    await Promise.all(held.map((h) => this.model.deleteOne({ _id: h._id })));
    return held.map((h) => ({ status: h.status, error: h.error ?? undefined }));
  }
}
