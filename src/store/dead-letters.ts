/**
 * Work the bridge gave up on: ids, kind, reason and attempt count in clear; the work itself (the lane payload, which
 * holds message text and customer ids) Fernet-sealed as `payload: { ct, kid }`, like every secret at rest
 * (SEALED_FIELDS lists it, so key rotation moves it). Sealed and opened only here. Kept so an admin can replay
 * it; expires after RETENTION_DEAD_LETTER_DAYS like every record.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';

export type DeadLetterDirection = 'inbound' | 'outbound';

export interface DeadLetter {
  id: string;
  connectionId: string;
  direction: DeadLetterDirection;
  /** The lane entry's id: `message:<Meta id>`, `status:<Meta id>:<status>`, or the platform's delivery id. */
  eventId: string;
  /** message, reaction, status, reply, typing, … */
  kind: string;
  reason: string;
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
  /** False when no sealed work is kept (a record written before payloads were): it can be discarded, not replayed. */
  replayable: boolean;
}

export interface NewDeadLetter {
  connectionId: string;
  direction: DeadLetterDirection;
  eventId: string;
  kind: string;
  reason: string;
  attempts: number;
  /** The work, as the lane held it; sealed before it is written. */
  payload: unknown;
}

interface SealedValue {
  ct: string;
  kid: string;
}

interface DeadLetterDoc {
  _id: string;
  connectionId: string;
  direction: DeadLetterDirection;
  eventId: string;
  kind?: string;
  reason: string;
  attempts: number;
  payload?: SealedValue;
  createdAt: Date;
  expiresAt: Date;
}

const schema = new Schema<DeadLetterDoc>(
  {
    _id: { type: String, required: true },
    connectionId: { type: String, required: true },
    direction: { type: String, required: true },
    eventId: { type: String, required: true },
    kind: { type: String },
    reason: { type: String, required: true },
    attempts: { type: Number, required: true },
    payload: { type: new Schema({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false }) },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'dead_letters' },
);
schema.index({ connectionId: 1, createdAt: -1 });

export interface DeadLetterQuery {
  /** Only these connections (a tenant's); undefined: every connection. */
  connectionIds?: string[];
  direction?: DeadLetterDirection;
  /** Oldest first (what a bulk replay wants), else latest first. */
  oldestFirst?: boolean;
  limit?: number;
}

/** At most this many per listing: dead letters are for people to look through, not for export. */
export const DEAD_LETTER_LIST_MAX = 500;

export class DeadLetterRepository {
  readonly model: Model<DeadLetterDoc>;

  constructor(db: MongoConnection, private readonly keys: KeyRing, private readonly retentionMs: number) {
    this.model = db.model<DeadLetterDoc>('DeadLetter', schema);
  }

  async add(entry: NewDeadLetter, now = new Date()): Promise<string> {
    // An id that sorts by time keeps "latest first" cheap on servers that only push down _id.
    const id = `dl_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(6).toString('base64url')}`;
    const { token, keyId } = this.keys.encrypt(JSON.stringify(entry.payload));
    const { payload: _plain, ...ids } = entry;
    await this.model.create({ _id: id, ...ids, payload: { ct: token, kid: keyId }, createdAt: now, expiresAt: new Date(now.getTime() + this.retentionMs) });
    return id;
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const filter: Record<string, unknown> = {};
    if (query.connectionIds) filter.connectionId = { $in: query.connectionIds };
    if (query.direction) filter.direction = query.direction;
    const order = query.oldestFirst ? 1 : -1;
    const docs = await this.model.find(filter).sort({ createdAt: order, _id: order })
      .limit(Math.min(query.limit ?? 100, DEAD_LETTER_LIST_MAX)).lean<DeadLetterDoc[]>();
    return docs.map(view);
  }

  async get(id: string): Promise<DeadLetter | null> {
    const doc = await this.model.findById(id).lean<DeadLetterDoc>();
    return doc ? view(doc) : null;
  }

  /** The sealed work, opened; undefined when none was kept. */
  async payloadOf<T>(id: string): Promise<T | undefined> {
    const doc = await this.model.findById(id).lean<DeadLetterDoc>();
    return doc?.payload ? (JSON.parse(this.keys.decrypt(doc.payload.ct)) as T) : undefined;
  }

  /** True when this call removed it (false: already gone, e.g. replayed or discarded by someone else). */
  async remove(id: string): Promise<boolean> {
    return (await this.model.deleteOne({ _id: id })).deletedCount === 1;
  }
}

function view(doc: DeadLetterDoc): DeadLetter {
  return {
    id: String(doc._id),
    connectionId: doc.connectionId,
    direction: doc.direction,
    eventId: doc.eventId,
    kind: doc.kind ?? doc.eventId.split(':')[0] ?? 'unknown',
    reason: doc.reason,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
    replayable: doc.payload !== undefined,
  };
}
