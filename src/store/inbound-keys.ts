/**
 * The durable idempotency key of every inbound Meta event: "this wamid has been (or is being) forwarded".
 * A unique _id makes the claim atomic across processes and restarts; an in-memory set could not survive either.
 * Kept longer than Meta's 7-day redelivery window. Holds ids only.
 *
 * Every read and write names `_id` alone: FerretDB reads the whole collection for any other filter. The chaos run
 * measured a `{_id, state}` update at ~2.7 s against ~0.4 s by `_id` at 5,600 keys, and every failed attempt did
 * two of those (end the lease, take it over), so throughput fell as the keys grew. A takeover stays atomic through
 * a marker document whose `_id` names the lease taken over: of two workers taking over the same lease, one
 * inserts it first and the other is told 'busy'.
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
    const existing = await this.model.findById(key).lean();
    if (!existing) return this.claim(key, now);
    if (existing.state === 'done') return 'done';
    if (existing.claimedAt.getTime() >= now.getTime() - this.leaseMs) return 'busy';
    // The lease ran out (its worker died, or its attempt failed and ended it): take it over, once.
    if (!(await this.markTakeover(key, existing.claimedAt, now))) return 'busy';
    await this.model.updateOne({ _id: key }, { $set: { claimedAt: now } });
    return 'unfinished';
  }

  /**
   * True for the one caller that takes over the lease that started at `leaseStart`. The marker only has to outlive
   * the moment between its insert and the claim's new lease; it expires (and is swept) soon after.
   */
  private async markTakeover(key: string, leaseStart: Date, now: Date): Promise<boolean> {
    try {
      await this.model.create({ _id: `${key}#takeover@${leaseStart.getTime()}`, state: 'done', claimedAt: now, expiresAt: new Date(now.getTime() + 2 * this.leaseMs) });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** A lease already over, started at an instant of its own (so its takeover marker is its own too). */
  private endedLease(now: Date): Date {
    return new Date(now.getTime() - this.leaseMs - 1);
  }

  async markDone(key: string): Promise<void> {
    await this.model.updateOne({ _id: key }, { $set: { state: 'done' } });
  }

  /**
   * After a failed attempt: keep the claim (the platform call may have gone through) but end its lease, so the
   * retry proceeds at once as 'unfinished' and looks before it creates.
   */
  async endLease(key: string, now = new Date()): Promise<void> {
    // By _id alone: on a key already 'done' this only moves claimedAt, which nothing reads once it is done.
    await this.model.updateOne({ _id: key }, { $set: { claimedAt: this.endedLease(now) } });
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
      await this.model.updateOne({ _id: key }, { $set: { state: 'claimed', claimedAt: this.endedLease(now), expiresAt } });
      return 'reopened';
    }
    try {
      await this.model.create({ _id: key, state: 'claimed', claimedAt: this.endedLease(now), expiresAt });
      return 'reopened';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Written between the read and the insert: decide again on what is there now.
      return this.reopen(key, opts, now);
    }
  }
}
