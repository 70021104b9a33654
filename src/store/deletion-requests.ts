/**
 * Data deletion requests Meta sent (the Data Deletion Request Callback), as the person who asked can look them up:
 * the confirmation code Meta showed them, where the request stands, and counts of what was removed. Nothing that
 * identifies the person is kept here — not their user id, not a hash of it — so the status page a code opens
 * holds no personal data, and the record is not itself something to delete. Expires after
 * RETENTION_DELETION_STATUS_DAYS.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { randomBytes } from 'node:crypto';

export type DeletionState = 'in_progress' | 'completed' | 'failed';

export interface DeletionOutcome {
  /** Connections whose Meta token this person granted: the token was deleted and the connection disconnected. */
  connectionsDisconnected: number;
  /** Connections that kept this person's user id (as who granted them), now forgotten. */
  grantsForgotten: number;
}

export interface DeletionRequest {
  code: string;
  state: DeletionState;
  receivedAt: Date;
  completedAt?: Date;
  outcome?: DeletionOutcome;
}

interface DeletionRequestDoc {
  _id: string;
  state: DeletionState;
  receivedAt: Date;
  completedAt?: Date;
  outcome?: DeletionOutcome;
  expiresAt: Date;
}

const schema = new Schema<DeletionRequestDoc>(
  {
    _id: { type: String, required: true },
    state: { type: String, required: true, enum: ['in_progress', 'completed', 'failed'] },
    receivedAt: { type: Date, required: true },
    completedAt: { type: Date },
    outcome: { connectionsDisconnected: Number, grantsForgotten: Number },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'deletion_requests' },
);

/** Meta asks for an alphanumeric code; 16 characters of [A-Z0-9] cannot be guessed (~82 bits). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const CONFIRMATION_CODE = /^[A-Z0-9]{16}$/;

export function newConfirmationCode(): string {
  // 252 = 7 × 36: bytes at or above it are dropped, so every character is equally likely.
  let code = '';
  while (code.length < 16) {
    for (const b of randomBytes(24)) if (b < 252 && code.length < 16) code += ALPHABET[b % 36];
  }
  return code;
}

export class DeletionRequestRepository {
  readonly model: Model<DeletionRequestDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<DeletionRequestDoc>('DeletionRequest', schema);
  }

  async open(now = new Date()): Promise<string> {
    const code = newConfirmationCode();
    await this.model.create({ _id: code, state: 'in_progress', receivedAt: now, expiresAt: new Date(now.getTime() + this.retentionMs) });
    return code;
  }

  async finish(code: string, state: Exclude<DeletionState, 'in_progress'>, outcome?: DeletionOutcome, now = new Date()): Promise<void> {
    await this.model.updateOne({ _id: code }, { $set: { state, completedAt: now, ...(outcome ? { outcome } : {}) } });
  }

  async find(code: string): Promise<DeletionRequest | null> {
    if (!CONFIRMATION_CODE.test(code)) return null;
    const doc = await this.model.findById(code).lean<DeletionRequestDoc>();
    if (!doc) return null;
    return { code: doc._id, state: doc.state, receivedAt: doc.receivedAt, completedAt: doc.completedAt ?? undefined, outcome: doc.outcome ?? undefined };
  }
}
