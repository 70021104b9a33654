/**
 * Audit events: who did what to which object, and when. Tenant-scoped like everything an admin sees. They hold
 * ids and outcomes only: never message content, never a secret, never a full phone number (callers pass masked
 * or hashed values in `details`), and they expire like every other record.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { randomBytes } from 'node:crypto';
import type { TenantScope } from './connections';

export interface AuditEvent {
  id: string;
  /** The tenant the event concerns; null for bridge-wide events (a key rotation). */
  tenantId: string | null;
  /** `super-admin`, `tenant:<id>`, `cli`, `meta` (a Meta callback) or `bridge` (a background job). */
  actor: string;
  /** Dotted verb, e.g. `connection.create`, `tenant.delete`, `keys.rotate`, `meta.deauthorize`. */
  action: string;
  target?: { type: string; id: string };
  details?: Record<string, string | number | boolean | null>;
  at: Date;
}

interface AuditDoc extends Omit<AuditEvent, 'id'> {
  _id: string;
  expiresAt: Date;
}

const schema = new Schema<AuditDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, default: null },
    actor: { type: String, required: true },
    action: { type: String, required: true },
    target: { type: { type: String }, id: String },
    details: { type: Schema.Types.Mixed },
    at: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'audit_events' },
);
schema.index({ tenantId: 1, at: -1 });

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'>;

export interface AuditQuery {
  action?: string;
  since?: Date;
  limit?: number;
}

export class AuditLog {
  readonly model: Model<AuditDoc>;

  constructor(db: MongoConnection, private readonly retentionMs: number) {
    this.model = db.model<AuditDoc>('AuditEvent', schema);
  }

  async record(event: NewAuditEvent, now = new Date()): Promise<void> {
    // An id that sorts by time keeps "latest first" cheap on servers that only push down _id.
    const id = `aud_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(6).toString('base64url')}`;
    await this.model.create({ _id: id, ...event, at: now, expiresAt: new Date(now.getTime() + this.retentionMs) });
  }

  /** Latest first. A tenant sees only its own events; the super-admin sees every event. */
  async list(scope: TenantScope, query: AuditQuery = {}): Promise<AuditEvent[]> {
    const filter: Record<string, unknown> = 'tenantId' in scope ? { tenantId: scope.tenantId } : {};
    if (query.action) filter.action = query.action;
    if (query.since) filter.at = { $gte: query.since };
    const docs = await this.model.find(filter).sort({ at: -1, _id: -1 }).limit(Math.min(query.limit ?? 100, 1000)).lean<AuditDoc[]>();
    return docs.map(({ _id, expiresAt: _e, ...rest }) => ({ id: _id, ...rest }));
  }
}
