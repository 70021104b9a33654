/**
 * Events the bridge gave up on: ids, reason and attempt count, never content. They expire like every record.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';

interface DeadLetterDoc {
  connectionId: string;
  direction: 'inbound' | 'outbound';
  eventId: string;
  reason: string;
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
}

const schema = new Schema<DeadLetterDoc>(
  {
    connectionId: { type: String, required: true },
    direction: { type: String, required: true },
    eventId: { type: String, required: true },
    reason: { type: String, required: true },
    attempts: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, versionKey: false, collection: 'dead_letters' },
);
schema.index({ connectionId: 1, createdAt: -1 });

export class DeadLetterRepository {
  readonly model: Model<DeadLetterDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<DeadLetterDoc>('DeadLetter', schema);
  }

  async add(entry: Omit<DeadLetterDoc, 'createdAt' | 'expiresAt'>, now = new Date()): Promise<void> {
    await this.model.create({ ...entry, expiresAt: new Date(now.getTime() + this.retentionMs) });
  }

  async list(connectionId?: string): Promise<DeadLetterDoc[]> {
    return this.model.find(connectionId ? { connectionId } : {}).sort({ createdAt: -1 }).limit(500).lean<DeadLetterDoc[]>();
  }
}
