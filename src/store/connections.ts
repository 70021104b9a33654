/**
 * Connections: one Meta business number/Page/account wired to one platform inbox. Secrets are encrypted and
 * decrypted only here, at the repository boundary; callers see plaintext tokens in memory, the database never
 * does. Each ciphertext carries the id of the key that made it, so rotation knows what to re-encrypt.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash, randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { ChannelKind } from '../core/events';

interface SealedSecret {
  ct: string;
  kid: string;
}

export type ConnectionHealth = 'ok' | 'expiring' | 'needs_reauth';

/** Settings of a Messenger or Instagram connection (none for WhatsApp). */
export interface ChannelOptions {
  /** Reply up to 7 days after the customer's last message with the HUMAN_AGENT tag (needs Meta's Human Agent permission). */
  humanAgentTag?: boolean;
  /** Instagram: a Page token (graph.facebook.com, the default) or an Instagram-Login token (graph.instagram.com). */
  tokenKind?: 'page' | 'instagram_login';
}

/** Chatwoot: an API inbox, reached with an agent (or admin) token. */
export interface ChatwootPlatformSettings {
  kind: 'chatwoot';
  baseUrl: string;
  accountId: number;
  inboxId: number;
  apiToken: string;
  webhookSecret?: string;
}

/**
 * A generic HTTP platform (DSK-style): the bridge POSTs signed events to `url`; the platform answers through
 * /platform/v1 with an API key the bridge keeps only as a SHA-256 hash (the key is shown once, at creation).
 */
export interface GenericPlatformSettings {
  kind: 'generic';
  url: string;
  signingSecret: string;
  apiKeyHash: string;
}

export type PlatformSettings = ChatwootPlatformSettings | GenericPlatformSettings;
export type PlatformKind = PlatformSettings['kind'];
export const PLATFORM_KINDS: readonly PlatformKind[] = ['chatwoot', 'generic'];

type PlatformDoc =
  | (Omit<ChatwootPlatformSettings, 'apiToken' | 'webhookSecret'> & { apiToken: SealedSecret; webhookSecret?: SealedSecret })
  | (Omit<GenericPlatformSettings, 'signingSecret'> & { signingSecret: SealedSecret });

interface ConnectionDoc {
  _id: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  metaToken: SealedSecret;
  options?: ChannelOptions;
  platform: PlatformDoc;
  health: ConnectionHealth;
  createdAt: Date;
  updatedAt: Date;
}

/** A connection with its secrets opened, for use in memory only. `K` narrows it to one platform kind. */
export interface ConnectionRecord<K extends PlatformKind = PlatformKind> {
  id: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  metaToken: string;
  options?: ChannelOptions;
  platform: PlatformSettings & { kind: K };
  health: ConnectionHealth;
  createdAt: Date;
}

export type NewConnection = Omit<ConnectionRecord, 'id' | 'health' | 'createdAt'>;

/** Narrows a connection to one platform kind (checking `conn.platform.kind` alone narrows only `platform`). */
export function isPlatform<K extends PlatformKind>(conn: ConnectionRecord, kind: K): conn is ConnectionRecord<K> {
  return conn.platform.kind === kind;
}

/** The hash an API key is stored and looked up by; keys are 256-bit random, so a fast hash is enough. */
export function apiKeyHash(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** What the admin API may show: everything but the secrets. */
export function publicView(rec: ConnectionRecord): Record<string, unknown> {
  return {
    id: rec.id,
    name: rec.name,
    channel: rec.channel,
    businessId: rec.businessId,
    wabaId: rec.wabaId,
    options: rec.options,
    platform: rec.platform.kind === 'chatwoot'
      ? {
        kind: rec.platform.kind,
        baseUrl: rec.platform.baseUrl,
        accountId: rec.platform.accountId,
        inboxId: rec.platform.inboxId,
        hasWebhookSecret: Boolean(rec.platform.webhookSecret),
      }
      : { kind: rec.platform.kind, url: rec.platform.url, hasSigningSecret: true, hasApiKey: true },
    health: rec.health,
    createdAt: rec.createdAt.toISOString(),
  };
}

function chatwootOnly(this: ConnectionDoc): boolean {
  return this.platform?.kind === 'chatwoot';
}

function genericOnly(this: ConnectionDoc): boolean {
  return this.platform?.kind === 'generic';
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
    options: {
      humanAgentTag: { type: Boolean, required: false },
      tokenKind: { type: String, required: false, enum: ['page', 'instagram_login'] },
    },
    platform: {
      kind: { type: String, required: true, enum: PLATFORM_KINDS },
      baseUrl: { type: String, required: chatwootOnly },
      accountId: { type: Number, required: chatwootOnly },
      inboxId: { type: Number, required: chatwootOnly },
      apiToken: { type: sealedSecret, required: chatwootOnly },
      webhookSecret: { type: sealedSecret, required: false },
      url: { type: String, required: genericOnly },
      signingSecret: { type: sealedSecret, required: genericOnly },
      apiKeyHash: { type: String, required: genericOnly },
    },
    health: { type: String, required: true, enum: ['ok', 'expiring', 'needs_reauth'], default: 'ok' },
  },
  { timestamps: true, versionKey: false, collection: 'connections' },
);
// One Meta number or Page belongs to exactly one connection: this is what routing rests on.
connectionSchema.index({ channel: 1, businessId: 1 }, { unique: true });
// The platform API finds its connection by the key's hash (not unique: Chatwoot connections have none).
connectionSchema.index({ 'platform.apiKeyHash': 1 });

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
      options: optionsOf(doc.options),
      platform: this.openPlatform(doc.platform),
      health: doc.health,
      createdAt: doc.createdAt,
    };
  }

  private openPlatform(p: PlatformDoc): PlatformSettings {
    if (p.kind === 'generic') {
      return { kind: p.kind, url: p.url, signingSecret: this.keys.decrypt(p.signingSecret.ct), apiKeyHash: p.apiKeyHash };
    }
    return {
      kind: p.kind,
      baseUrl: p.baseUrl,
      accountId: p.accountId,
      inboxId: p.inboxId,
      apiToken: this.keys.decrypt(p.apiToken.ct),
      webhookSecret: p.webhookSecret ? this.keys.decrypt(p.webhookSecret.ct) : undefined,
    };
  }

  private sealPlatform(p: PlatformSettings): PlatformDoc {
    if (p.kind === 'generic') {
      return { kind: p.kind, url: p.url, signingSecret: this.seal(p.signingSecret), apiKeyHash: p.apiKeyHash };
    }
    return {
      kind: p.kind,
      baseUrl: p.baseUrl.replace(/\/+$/, ''),
      accountId: p.accountId,
      inboxId: p.inboxId,
      apiToken: this.seal(p.apiToken),
      webhookSecret: p.webhookSecret ? this.seal(p.webhookSecret) : undefined,
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
      options: optionsOf(input.options),
      platform: this.sealPlatform(input.platform),
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

  /** The generic-platform connection an API key belongs to (compared by hash; the key itself is never stored). */
  async findByApiKey(apiKey: string): Promise<ConnectionRecord<'generic'> | null> {
    const doc = await this.model.findOne({ 'platform.kind': 'generic', 'platform.apiKeyHash': apiKeyHash(apiKey) }).lean<ConnectionDoc>();
    if (!doc) return null;
    const rec = this.open(doc);
    return isPlatform(rec, 'generic') ? rec : null;
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

/** Only the options that are set (an empty object is not stored, and reads back as undefined). */
function optionsOf(options: ChannelOptions | null | undefined): ChannelOptions | undefined {
  if (!options) return undefined;
  const set: ChannelOptions = {};
  if (typeof options.humanAgentTag === 'boolean') set.humanAgentTag = options.humanAgentTag;
  if (options.tokenKind === 'page' || options.tokenKind === 'instagram_login') set.tokenKind = options.tokenKind;
  return Object.keys(set).length > 0 ? set : undefined;
}
