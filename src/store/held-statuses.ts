/**
 * Statuses that arrived before the send they belong to was recorded (Meta's webhook can beat the send
 * response). They are kept here, briefly, and applied as soon as the send is recorded — never dropped.
 * One document per Meta message, looked up by `_id` only (see the note in deliveries.ts on FerretDB), so the
 * check after every send is a single read.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import type { DeliveryStatus } from '../core/events';

interface HeldStatusDoc {
  _id: string;
  connectionId: string;
  /** status → failure reason ('' when none). */
  statuses: Partial<Record<DeliveryStatus, string>>;
  /** Who the message went to, as DeliveryRepository.customerKeyOf hashes them: erasure finds a customer's statuses by it. */
  customerKey?: string;
  expiresAt: Date;
}

const schema = new Schema<HeldStatusDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    statuses: { type: Schema.Types.Mixed, required: true, default: {} },
    customerKey: { type: String, required: false },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'held_statuses', minimize: false },
);
schema.index({ connectionId: 1 });

const idOf = (connectionId: string, externalId: string) => `${connectionId}:${externalId}`;

export class HeldStatusRepository {
  readonly model: Model<HeldStatusDoc>;

  constructor(db: MongoConnection, private readonly retentionMs = 24 * 3600 * 1000) {
    this.model = db.model<HeldStatusDoc>('HeldStatus', schema);
  }

  async hold(connectionId: string, externalId: string, status: DeliveryStatus, error?: string, customerKey?: string): Promise<void> {
    await this.model.updateOne(
      { _id: idOf(connectionId, externalId) },
      {
        $set: { [`statuses.${status}`]: error ?? '' },
        $setOnInsert: { connectionId, expiresAt: new Date(Date.now() + this.retentionMs), ...(customerKey ? { customerKey } : {}) },
      },
      { upsert: true },
    );
  }

  /** Removes and returns what was held for this Meta message. */
  async take(connectionId: string, externalId: string): Promise<Array<{ status: DeliveryStatus; error?: string }>> {
    const _id = idOf(connectionId, externalId);
    const held = await this.model.findById(_id).lean<HeldStatusDoc>();
    if (!held) return [];
    await this.model.deleteOne({ _id });
    return (Object.entries(held.statuses ?? {}) as Array<[DeliveryStatus, string]>).map(([status, error]) => ({ status, error: error || undefined }));
  }
}
