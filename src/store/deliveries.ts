/**
 * Delivery records: which Meta message became which platform message, and what became of it.
 * Ids, status and timestamps only — never message text, never phone numbers. They expire (TTL + sweeper).
 *
 * Every hot-path read and write goes by `_id` (`<connection>:<Meta id>`): FerretDB 1.x pushes only `_id`
 * equality down to SQLite and scans the collection for anything else, so a secondary-field lookup per message
 * would slow down as the collection grows. The platform-message → parts mapping is its own `_id`-keyed document
 * (collection platform_messages) for the same reason.
 */
import { isDuplicateKeyError } from './mongo';
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';
import type { TrackedStatus } from '../core/status-merge';
import { mergeStatus, statusRank } from '../core/status-merge';

export type Direction = 'inbound' | 'outbound';

interface DeliveryDoc {
  _id: string;
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
  /** Outbound: the status the platform was last told for the whole platform message (kept on every part). */
  shown?: TrackedStatus;
  /** The customer (outbound: who it went to; inbound: who wrote), as a salted hash (DeliveryRepository.customerKeyOf): for receipts that cover a whole conversation, and for erasure. */
  customerKey?: string;
  /** Outbound: when it went out (Meta's clock once Meta echoed it; until then the moment before the send). */
  sentAt?: Date;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export type DeliveryRecord = Omit<DeliveryDoc, 'updatedAt' | '_id'>;

/** platform message → the Meta messages (parts) it went out as. */
interface PlatformMessageDoc {
  _id: string;
  connectionId: string;
  parts: Array<{ part: number; externalId: string }>;
  expiresAt: Date;
}

const platformMessageSchema = new Schema<PlatformMessageDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    parts: [{ _id: false, part: Number, externalId: String }],
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'platform_messages' },
);
platformMessageSchema.index({ connectionId: 1 });

const schema = new Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    direction: { type: String, required: true, enum: ['inbound', 'outbound'] },
    externalId: { type: String, required: true },
    platformConversationId: { type: String, required: true },
    platformMessageId: { type: String, required: true },
    part: { type: Number, required: false },
    status: { type: String, required: true },
    error: { type: String, required: false },
    shown: { type: String, required: false },
    customerKey: { type: String, required: false },
    sentAt: { type: Date, required: false },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'delivery_records' },
);
schema.index({ connectionId: 1 });
// Watermark receipts (Messenger delivery/read): a customer's outgoing messages up to a moment.
schema.index({ connectionId: 1, customerKey: 1, sentAt: 1 });

export class DeliveryRepository {
  readonly model: Model<DeliveryDoc>;
  readonly platformMessages: Model<PlatformMessageDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<DeliveryDoc>('Delivery', schema);
    this.platformMessages = db.model<PlatformMessageDoc>('PlatformMessage', platformMessageSchema);
  }

  static idOf(connectionId: string, externalId: string): string {
    return `${connectionId}:${externalId}`;
  }

  /** The key outbound records carry for their customer: a hash, so no customer id is stored in clear. */
  static customerKeyOf(connectionId: string, customerId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000customer\u0000${customerId}`).digest('base64url');
  }

  /**
   * The outgoing messages to one customer sent up to `upTo` whose status is still below `status`: what a
   * watermark receipt ("everything before this moment was delivered / read") moves forward.
   */
  async outboundUpTo(connectionId: string, customerKey: string, upTo: Date, status: TrackedStatus): Promise<DeliveryRecord[]> {
    const below = (['pending', 'sent', 'delivered', 'read'] as const).filter((s) => statusRank(s) < statusRank(status));
    return this.model.find({ connectionId, customerKey, direction: 'outbound', sentAt: { $lte: upTo }, status: { $in: below } })
      .sort({ sentAt: 1 }).lean<DeliveryRecord[]>();
  }

  /** Meta's own time for a send, learnt from its echo: watermarks then compare like with like. */
  async setSentAt(connectionId: string, externalId: string, sentAt: Date): Promise<void> {
    await this.model.updateOne({ _id: DeliveryRepository.idOf(connectionId, externalId), direction: 'outbound' }, { $set: { sentAt } });
  }

  /** Records a forwarded message. Idempotent: a repeat for the same Meta id leaves the first record. */
  async record(input: Omit<DeliveryRecord, 'createdAt' | 'expiresAt'>, now = new Date()): Promise<void> {
    const expiresAt = new Date(now.getTime() + this.retentionMs);
    // An insert, not an upsert: FerretDB runs an upsert as read-then-write in one SQLite transaction, which fails
    // at once with SQLITE_BUSY when another writer committed in between; a plain insert waits its turn. A
    // duplicate key means the record is already there, which is the idempotent answer.
    try {
      await this.model.create({ _id: DeliveryRepository.idOf(input.connectionId, input.externalId), ...input, expiresAt });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    if (input.direction === 'outbound') {
      const _id = DeliveryRepository.idOf(input.connectionId, input.platformMessageId);
      const part = { part: input.part ?? 0, externalId: input.externalId };
      await this.platformMessages.updateOne(
        { _id },
        { $addToSet: { parts: part }, $setOnInsert: { connectionId: input.connectionId, expiresAt } },
        { upsert: true },
      );
    }
  }

  async findByExternalId(connectionId: string, externalId: string): Promise<DeliveryRecord | null> {
    return this.model.findById(DeliveryRepository.idOf(connectionId, externalId)).lean<DeliveryRecord>();
  }

  async findByPlatformMessageId(connectionId: string, platformMessageId: string): Promise<DeliveryRecord | null> {
    return (await this.partsOf(connectionId, platformMessageId))[0] ?? null;
  }

  /** Every Meta message one platform message went out as, in part order. */
  async partsOf(connectionId: string, platformMessageId: string): Promise<DeliveryRecord[]> {
    const index = await this.platformMessages.findById(DeliveryRepository.idOf(connectionId, platformMessageId)).lean<PlatformMessageDoc>();
    if (!index) return [];
    const parts = [...index.parts].sort((a, b) => a.part - b.part);
    const records = await Promise.all(parts.map((p) => this.findByExternalId(connectionId, p.externalId)));
    return records.filter((r): r is DeliveryRecord => r !== null && r.direction === 'outbound');
  }

  /** The platform now shows `status` for this platform message (so a retry after a failed push pushes again). */
  async markShown(connectionId: string, platformMessageId: string, status: TrackedStatus): Promise<void> {
    const parts = await this.partsOf(connectionId, platformMessageId);
    await Promise.all(parts.map((p) => this.model.updateOne({ _id: DeliveryRepository.idOf(connectionId, p.externalId) }, { $set: { shown: status } })));
  }

  /**
   * Merges a Meta status into an outbound record. Returns the record as it now stands, or null when there is
   * no record yet (the send is not recorded: the caller holds the status). The write is conditional on the
   * status it read, so two workers merging at once cannot step back.
   */
  async mergeStatus(connectionId: string, externalId: string, incoming: TrackedStatus, error?: string): Promise<DeliveryRecord | null> {
    for (;;) {
      const _id = DeliveryRepository.idOf(connectionId, externalId);
      const current = await this.model.findById(_id).lean<DeliveryRecord>();
      if (!current || current.direction !== 'outbound') return null;
      const merged = mergeStatus(current.status as TrackedStatus, incoming);
      if (merged === current.status) return current;
      const set: Record<string, unknown> = { status: merged };
      if (merged === 'failed' && error) set.error = error;
      const res = await this.model.updateOne({ _id, status: current.status }, { $set: set });
      if (res.modifiedCount === 1) return { ...current, ...set } as DeliveryRecord;
    }
  }
}
