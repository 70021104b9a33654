/**
 * Whether the bridge has fetched a customer's profile (Messenger/Instagram name and picture) yet, and when to try
 * again after a failure. The profile itself goes straight to the platform's contact and is not kept here: a
 * hashed customer key, a state and two dates only.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';

export type ProfileFetchState = 'fetched' | 'failed';

interface ProfileStateDoc {
  _id: string;
  connectionId: string;
  state: ProfileFetchState;
  /** failed: how many times in a row. */
  failures: number;
  /** failed: not before this. */
  retryAt?: Date;
  expiresAt: Date;
}

const schema = new Schema<ProfileStateDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    state: { type: String, required: true, enum: ['fetched', 'failed'] },
    failures: { type: Number, required: true },
    retryAt: { type: Date, required: false },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'profile_fetches' },
);
schema.index({ connectionId: 1 });

export interface ProfileFetch {
  state: ProfileFetchState;
  failures: number;
  retryAt?: Date;
}

export class ProfileStateRepository {
  readonly model: Model<ProfileStateDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<ProfileStateDoc>('ProfileFetch', schema);
  }

  static keyOf(connectionId: string, customerId: string): string {
    return createHash('sha256').update(`${connectionId}\u0000profile\u0000${customerId}`).digest('base64url');
  }

  async get(connectionId: string, customerId: string): Promise<ProfileFetch | null> {
    const doc = await this.model.findById(ProfileStateRepository.keyOf(connectionId, customerId)).lean<ProfileStateDoc>();
    return doc ? { state: doc.state, failures: doc.failures, retryAt: doc.retryAt ?? undefined } : null;
  }

  async fetched(connectionId: string, customerId: string, now = new Date()): Promise<void> {
    await this.put(connectionId, customerId, { state: 'fetched', failures: 0 }, now);
  }

  async failed(connectionId: string, customerId: string, failures: number, retryAt: Date, now = new Date()): Promise<void> {
    await this.put(connectionId, customerId, { state: 'failed', failures, retryAt }, now);
  }

  private async put(connectionId: string, customerId: string, fetch: ProfileFetch, now: Date): Promise<void> {
    const _id = ProfileStateRepository.keyOf(connectionId, customerId);
    const $unset = fetch.retryAt ? {} : { retryAt: 1 };
    await this.model.updateOne(
      { _id },
      { $set: { connectionId, ...fetch, expiresAt: new Date(now.getTime() + this.retentionMs) }, ...(fetch.retryAt ? {} : { $unset }) },
      { upsert: true },
    );
  }
}
