/**
 * The durable idempotency key of every inbound Meta event: "this wamid has been (or is being) forwarded".
 * A unique _id makes the claim atomic across processes and restarts; an in-memory set could not survive either.
 * Kept longer than Meta's 7-day redelivery window. Holds ids only.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { isDuplicateKeyError } from './mongo';

interface InboundKeyDoc {
  _id: string;
  state: 'claimed' | 'done';
  claimedAt: Date;
  expiresAt: Date;
}

const schema = new Schema<InboundKeyDoc>(
  {
    _id: { type: String, required: true },
    state: { type: String, required: true, enum: ['claimed', 'done'] },
    claimedAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'inbound_keys' },
);

export type ClaimResult =
  /** Nobody has seen this event: go ahead. */
  | 'fresh'
  /** Already forwarded: skip. */
  | 'done'
  /** An earlier attempt claimed it and did not finish: it may or may not have reached the platform. */
  | 'unfinished'
  /** Another worker holds a live claim right now. */
  | 'busy';

export class InboundKeyRepository {
  readonly model: Model<InboundKeyDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number, private readonly leaseMs = 60_000) {
    this.model = db.model<InboundKeyDoc>('InboundKey', schema);
  }

  static key(connectionId: string, externalId: string): string {
    return `${connectionId}:${externalId}`;
  }

  async claim(key: string, now = new Date()): Promise<ClaimResult> {
    try {
      await this.model.create({ _id: key, state: 'claimed', claimedAt: now, expiresAt: new Date(now.getTime() + this.retentionMs) });
      return 'fresh';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    // Take over a claim whose lease ran out (its worker died). findOneAndUpdate without projection: FerretDB v1
    // refuses projections there.
    const takenOver = await this.model.findOneAndUpdate(
      { _id: key, state: 'claimed', claimedAt: { $lt: new Date(now.getTime() - this.leaseMs) } },
      { $set: { claimedAt: now } },
      { new: true },
    ).lean();
    if (takenOver) return 'unfinished';
    const existing = await this.model.findById(key).lean();
    if (!existing) return this.claim(key, now);
    return existing.state === 'done' ? 'done' : 'busy';
  }

  async markDone(key: string): Promise<void> {
    await this.model.updateOne({ _id: key }, { $set: { state: 'done' } });
  }

  /**
   * After a failed attempt: keep the claim (the platform call may have gone through) but end its lease, so the
   * retry proceeds at once as 'unfinished' and looks before it creates.
   */
  async endLease(key: string): Promise<void> {
    await this.model.updateOne({ _id: key, state: 'claimed' }, { $set: { claimedAt: new Date(0) } });
  }

  /**
   * Before an admin replays a dead letter: leaves the key claimed with no lease, so the replay's claim reads
   * 'unfinished' and looks on the platform (or at the recorded parts) before it creates anything. That holds
   * even when the key expired meanwhile (it is written again) or was never written (the claim itself failed).
   * A 'done' key is kept as it is unless `evenIfDone`: for a customer event 'done' means it was forwarded, so
   * the replay must come out as a duplicate; for a reply 'done' also means "failure reported", see OutboundRelay.
   */
  async reopen(key: string, opts: { evenIfDone: boolean }, now = new Date()): Promise<'reopened' | 'done'> {
    const expiresAt = new Date(now.getTime() + this.retentionMs);
    const existing = await this.model.findById(key).lean();
    if (existing?.state === 'done' && !opts.evenIfDone) return 'done';
    if (existing) {
      await this.model.updateOne({ _id: key }, { $set: { state: 'claimed', claimedAt: new Date(0), expiresAt } });
      return 'reopened';
    }
    try {
      await this.model.create({ _id: key, state: 'claimed', claimedAt: new Date(0), expiresAt });
      return 'reopened';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Written between the read and the insert: decide again on what is there now.
      return this.reopen(key, opts, now);
    }
  }
}
