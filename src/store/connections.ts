/**
 * Connections: one Meta business number/Page/account wired to one platform inbox. Secrets are encrypted and
 * decrypted only here, at the repository boundary; callers see plaintext tokens in memory, the database never
 * does. Each ciphertext carries the id of the key that made it, so rotation knows what to re-encrypt.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { ChannelKind } from '../core/events';

interface SealedSecret {
  ct: string;
  kid: string;
}

export type ConnectionHealth = 'ok' | 'expiring' | 'needs_reauth';

interface ConnectionDoc {
  _id: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  metaToken: SealedSecret;
  platform: {
    kind: 'chatwoot';
    baseUrl: string;
    accountId: number;
    inboxId: number;
    apiToken: SealedSecret;
    webhookSecret?: SealedSecret;
  };
  health: ConnectionHealth;
  createdAt: Date;
  updatedAt: Date;
}

/** A connection with its secrets opened, for use in memory only. */
export interface ConnectionRecord {
  id: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  metaToken: string;
  platform: {
    kind: 'chatwoot';
    baseUrl: string;
    accountId: number;
    inboxId: number;
    apiToken: string;
    webhookSecret?: string;
  };
  health: ConnectionHealth;
  createdAt: Date;
}

export type NewConnection = Omit<ConnectionRecord, 'id' | 'health' | 'createdAt'>;

/** What the admin API may show: everything but the secrets. */
export function publicView(rec: ConnectionRecord): Record<string, unknown> {
  return {
    id: rec.id,
    name: rec.name,
    channel: rec.channel,
    businessId: rec.businessId,
    wabaId: rec.wabaId,
    platform: {
      kind: rec.platform.kind,
      baseUrl: rec.platform.baseUrl,
      accountId: rec.platform.accountId,
      inboxId: rec.platform.inboxId,
      hasWebhookSecret: Boolean(rec.platform.webhookSecret),
    },
    health: rec.health,
    createdAt: rec.createdAt.toISOString(),
  };
}

const sealedSecret = new Schema<SealedSecret>({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false });

const connectionSchema = new Schema<ConnectionDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    channel: { type: String, required: true, enum: ['whatsapp', 'messenger', 'instagram'] },
    businessId: { type: String, required: true },
    wabaId: String,
    metaToken: { type: sealedSecret, required: true },
    platform: {
      kind: { type: String, required: true, enum: ['chatwoot'] },
      baseUrl: { type: String, required: true },
      accountId: { type: Number, required: true },
      inboxId: { type: Number, required: true },
      apiToken: { type: sealedSecret, required: true },
      webhookSecret: { type: sealedSecret, required: false },
    },
    health: { type: String, required: true, enum: ['ok', 'expiring', 'needs_reauth'], default: 'ok' },
  },
  { timestamps: true, versionKey: false, collection: 'connections' },
);
// One Meta number or Page belongs to exactly one connection: this is what routing rests on.
connectionSchema.index({ channel: 1, businessId: 1 }, { unique: true });

export class ConnectionRepository {
  readonly model: Model<ConnectionDoc>;

  constructor(db: MongoConnection, private readonly keys: KeyRing) {
    this.model = db.model<ConnectionDoc>('Connection', connectionSchema);
  }

  private seal(plain: string): SealedSecret {
    const { token, keyId } = this.keys.encrypt(plain);
    return { ct: token, kid: keyId };
  }

  private open(doc: ConnectionDoc): ConnectionRecord {
    return {
      id: doc._id,
      name: doc.name,
      channel: doc.channel,
      businessId: doc.businessId,
      wabaId: doc.wabaId ?? undefined,
      metaToken: this.keys.decrypt(doc.metaToken.ct),
      platform: {
        kind: doc.platform.kind,
        baseUrl: doc.platform.baseUrl,
        accountId: doc.platform.accountId,
        inboxId: doc.platform.inboxId,
        apiToken: this.keys.decrypt(doc.platform.apiToken.ct),
        webhookSecret: doc.platform.webhookSecret ? this.keys.decrypt(doc.platform.webhookSecret.ct) : undefined,
      },
      health: doc.health,
      createdAt: doc.createdAt,
    };
  }

  async create(input: NewConnection): Promise<ConnectionRecord> {
    const doc = await this.model.create({
      _id: `con_${randomBytes(9).toString('base64url')}`,
      name: input.name,
      channel: input.channel,
      businessId: input.businessId,
      wabaId: input.wabaId,
      metaToken: this.seal(input.metaToken),
      platform: {
        kind: input.platform.kind,
        baseUrl: input.platform.baseUrl.replace(/\/+$/, ''),
        accountId: input.platform.accountId,
        inboxId: input.platform.inboxId,
        apiToken: this.seal(input.platform.apiToken),
        webhookSecret: input.platform.webhookSecret ? this.seal(input.platform.webhookSecret) : undefined,
      },
      health: 'ok',
    });
    return this.open(doc.toObject());
  }

  async findById(id: string): Promise<ConnectionRecord | null> {
    const doc = await this.model.findById(id).lean<ConnectionDoc>();
    return doc ? this.open(doc) : null;
  }

  async findByBusinessId(channel: ChannelKind, businessId: string): Promise<ConnectionRecord | null> {
    const doc = await this.model.findOne({ channel, businessId }).lean<ConnectionDoc>();
    return doc ? this.open(doc) : null;
  }

  async list(): Promise<ConnectionRecord[]> {
    const docs = await this.model.find().sort({ createdAt: 1 }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id });
    return res.deletedCount === 1;
  }

  async setHealth(id: string, health: ConnectionHealth): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { health } });
  }
}
