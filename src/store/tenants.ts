/**
 * Tenants: the owners of connections. A tenant authenticates with its own API key, which the bridge generates,
 * shows once and keeps only as a SHA-256 hash (the key is 256 random bits, so a fast hash is enough and a
 * database dump gives nobody a usable key).
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { randomBytes } from 'node:crypto';
import { apiKeyHash } from './connections';

interface TenantDoc {
  _id: string;
  name: string;
  apiKeyHash: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: Date;
}

const schema = new Schema<TenantDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    apiKeyHash: { type: String, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'tenants' },
);
schema.index({ apiKeyHash: 1 }, { unique: true });

/** `tk_` marks a tenant key in logs and secret scanners, the way `bk_` marks a platform key. */
function newTenantKey(): string {
  return `tk_${randomBytes(32).toString('base64url')}`;
}

function recordOf(doc: TenantDoc): TenantRecord {
  return { id: doc._id, name: doc.name, createdAt: doc.createdAt };
}

export class TenantRepository {
  readonly model: Model<TenantDoc>;

  constructor(db: MongoConnection) {
    this.model = db.model<TenantDoc>('Tenant', schema);
  }

  /** Creates a tenant; the returned key exists nowhere else and cannot be shown again. */
  async create(name: string): Promise<{ tenant: TenantRecord; apiKey: string }> {
    const apiKey = newTenantKey();
    const doc = await this.model.create({ _id: `ten_${randomBytes(9).toString('base64url')}`, name, apiKeyHash: apiKeyHash(apiKey) });
    return { tenant: recordOf(doc.toObject()), apiKey };
  }

  /** Replaces the tenant's key: the old one stops working at once. Null when there is no such tenant. */
  async rotateKey(id: string): Promise<string | null> {
    const apiKey = newTenantKey();
    const res = await this.model.updateOne({ _id: id }, { $set: { apiKeyHash: apiKeyHash(apiKey) } });
    return res.matchedCount === 1 ? apiKey : null;
  }

  async findByApiKey(apiKey: string): Promise<TenantRecord | null> {
    const doc = await this.model.findOne({ apiKeyHash: apiKeyHash(apiKey) }).lean<TenantDoc>();
    return doc ? recordOf(doc) : null;
  }

  async findById(id: string): Promise<TenantRecord | null> {
    const doc = await this.model.findById(id).lean<TenantDoc>();
    return doc ? recordOf(doc) : null;
  }

  async list(): Promise<TenantRecord[]> {
    return (await this.model.find().sort({ createdAt: 1 }).lean<TenantDoc[]>()).map(recordOf);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.model.deleteOne({ _id: id })).deletedCount === 1;
  }
}
