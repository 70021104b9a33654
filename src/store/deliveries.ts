/**
 * Delivery records: which Meta message became which platform message, and what became of it.
 * Ids, status and timestamps only — never message text, never phone numbers. They expire (TTL + sweeper).
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import type { TrackedStatus } from '../core/status-merge';
import { mergeStatus } from '../core/status-merge';

export type Direction = 'inbound' | 'outbound';

interface DeliveryDoc {
  connectionId: string;
  direction: Direction;
  externalId: string;
  platformConversationId: string;
  platformMessageId: string;
  /** Outbound: which part of the platform message this Meta message is (text, then each attachment). */
  part?: number;
  /** Inbound records say 'forwarded'; outbound records track Meta's status. */
  status: TrackedStatus | 'forwarded';
  /** Outbound: Meta's failure reason, readable, when status is failed. */
  error?: string;
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
    part: { type: Number, required: false },
    status: { type: String, required: true },
    error: { type: String, required: false },
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

  /** Every Meta message one platform message went out as, in part order. */
  async partsOf(connectionId: string, platformMessageId: string): Promise<DeliveryRecord[]> {
    return this.model.find({ connectionId, platformMessageId, direction: 'outbound' }).sort({ part: 1 }).lean<DeliveryRecord[]>();
  }

  /**
   * Merges a Meta status into an outbound record. Returns the record as it now stands, or null when there is
   * no record yet (the send is not recorded: the caller holds the status). The write is conditional on the
   * status it read, so two workers merging at once cannot step back.
   */
  async mergeStatus(connectionId: string, externalId: string, incoming: TrackedStatus, error?: string): Promise<DeliveryRecord | null> {
    for (;;) {
      const current = await this.model.findOne({ connectionId, externalId, direction: 'outbound' }).lean<DeliveryRecord>();
      if (!current) return null;
      const merged = mergeStatus(current.status as TrackedStatus, incoming);
      if (merged === current.status) return current;
      const set: Record<string, unknown> = { status: merged };
      if (merged === 'failed' && error) set.error = error;
      const res = await this.model.updateOne({ connectionId, externalId, status: current.status }, { $set: set });
      if (res.modifiedCount === 1) return { ...current, ...set } as DeliveryRecord;
    }
  }
}
