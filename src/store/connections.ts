/**
 * Connections: one Meta business number/Page/account wired to one platform inbox. Secrets are encrypted and
 * decrypted only here, at the repository boundary; callers see plaintext tokens in memory, the database never
 * does. Each ciphertext carries the id of the key that made it, so rotation knows what to re-encrypt.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash, randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { ChannelKind } from '../core/events';
import { tokenDetailsOf, tokenDetailsSchema, tokenDetailsView, type TokenDetails } from './token-details';

interface SealedSecret {
  ct: string;
  kid: string;
}

/**
 * disconnected: the Meta user who granted the token removed the app (Deauthorize callback) or asked for their data
 * to be deleted; the token is gone and nothing is sent until someone connects the account again.
 */
export type ConnectionHealth = 'ok' | 'expiring' | 'needs_reauth' | 'disconnected';
export const CONNECTION_HEALTH_STATES: readonly ConnectionHealth[] = ['ok', 'expiring', 'needs_reauth', 'disconnected'];

/**
 * Whose connections a query may touch: one tenant's (a tenant's API key), or every tenant's (the super-admin,
 * and the bridge itself when it routes webhooks). Admin code passes the caller's scope to every query, so
 * another tenant's connection is simply not found (404), never "forbidden" (which would confirm it exists).
 */
export type TenantScope = { tenantId: string } | { allTenants: true };

export const ALL_TENANTS: TenantScope = { allTenants: true };

function scopeFilter(scope: TenantScope): { tenantId?: string } {
  return 'tenantId' in scope ? { tenantId: scope.tenantId } : {};
}

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
  tenantId: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  pageId?: string;
  /** Absent once the connection is disconnected (the token deleted). */
  metaToken?: SealedSecret;
  /** When metaToken was last given (created, or replaced): a revocation Meta reports from before it is stale. */
  tokenSetAt?: Date;
  grantedByUserId?: string;
  options?: ChannelOptions;
  platform: PlatformDoc;
  health: ConnectionHealth;
  /** What Meta last said about metaToken (src/tokens/); absent until first inspected. */
  token?: TokenDetails;
  createdAt: Date;
  updatedAt: Date;
}

/** A connection with its secrets opened, for use in memory only. `K` narrows it to one platform kind. */
export interface ConnectionRecord<K extends PlatformKind = PlatformKind> {
  id: string;
  tenantId: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  /**
   * Instagram on a Page token: the Facebook Page the account is linked to. Meta delivers its webhooks through that
   * Page's app subscription, shared with the Page's Messenger connection (src/onboarding/unsubscribe.ts). Recorded by
   * the connection page; absent for connections made before it was kept or pasted in through the admin API.
   */
  pageId?: string;
  /** '' when the connection is disconnected: there is no token to use. */
  metaToken: string;
  /**
   * The app-scoped Facebook user id of who granted the Meta token, for connections made through Facebook Login
   * (GET /me with the person's token) or Embedded Signup (a verified signedRequest, when the SDK gave one): what
   * Meta's Deauthorize and Data Deletion callbacks name. Absent for tokens pasted in.
   */
  grantedByUserId?: string;
  options?: ChannelOptions;
  platform: PlatformSettings & { kind: K };
  health: ConnectionHealth;
  /** What Meta last said about the token: kind, expiry, scopes, last check, why not ok. Never the token. */
  token?: TokenDetails;
  /** When the token was last given (created or replaced; not when renewed); absent for records from before it was kept. */
  tokenSetAt?: Date;
  createdAt: Date;
}

/** One webhook subscription of the app at Meta: on a WhatsApp Business Account, or on a Facebook Page. */
export interface MetaSubscription {
  kind: 'waba' | 'page';
  id: string;
}

export type NewConnection = Omit<ConnectionRecord, 'id' | 'health' | 'createdAt' | 'token'>;

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
    tenantId: rec.tenantId,
    name: rec.name,
    channel: rec.channel,
    businessId: rec.businessId,
    wabaId: rec.wabaId,
    pageId: rec.pageId,
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
    token: tokenDetailsView(rec.token),
    createdAt: rec.createdAt.toISOString(),
  };
}

function chatwootOnly(this: ConnectionDoc): boolean {
  return this.platform?.kind === 'chatwoot';
}

function connected(this: ConnectionDoc): boolean {
  return this.health !== 'disconnected';
}

function genericOnly(this: ConnectionDoc): boolean {
  return this.platform?.kind === 'generic';
}

const sealedSecret = new Schema<SealedSecret>({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false });

const connectionSchema = new Schema<ConnectionDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    name: { type: String, required: true },
    channel: { type: String, required: true, enum: ['whatsapp', 'messenger', 'instagram'] },
    businessId: { type: String, required: true },
    wabaId: String,
    pageId: String,
    metaToken: { type: sealedSecret, required: connected },
    tokenSetAt: { type: Date, required: false },
    grantedByUserId: { type: String, required: false },
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
    health: { type: String, required: true, enum: CONNECTION_HEALTH_STATES, default: 'ok' },
    token: { type: tokenDetailsSchema, required: false },
  },
  { timestamps: true, versionKey: false, collection: 'connections' },
);
// One Meta number or Page belongs to exactly one connection: this is what routing rests on.
connectionSchema.index({ channel: 1, businessId: 1 }, { unique: true });
// The platform API finds its connection by the key's hash (not unique: Chatwoot connections have none).
connectionSchema.index({ 'platform.apiKeyHash': 1 });
connectionSchema.index({ tenantId: 1 });
// Meta's Deauthorize and Data Deletion callbacks find the connections one Facebook user granted.
connectionSchema.index({ grantedByUserId: 1 });

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
      tenantId: doc.tenantId,
      name: doc.name,
      channel: doc.channel,
      businessId: doc.businessId,
      wabaId: doc.wabaId ?? undefined,
      pageId: doc.pageId ?? undefined,
      metaToken: doc.metaToken ? this.keys.decrypt(doc.metaToken.ct) : '',
      grantedByUserId: doc.grantedByUserId ?? undefined,
      options: optionsOf(doc.options),
      platform: this.openPlatform(doc.platform),
      health: doc.health,
      token: tokenDetailsOf(doc.token),
      tokenSetAt: doc.tokenSetAt ?? undefined,
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

  /**
   * `id` is chosen by the caller when something outside must name the connection before it exists (the
   * Chatwoot installer points the inbox's webhook_url at it first); otherwise a fresh one.
   */
  async create(input: NewConnection, id = newConnectionId()): Promise<ConnectionRecord> {
    const doc = await this.model.create({
      _id: id,
      tenantId: input.tenantId,
      name: input.name,
      channel: input.channel,
      businessId: input.businessId,
      wabaId: input.wabaId,
      pageId: input.pageId,
      metaToken: this.seal(input.metaToken),
      tokenSetAt: new Date(),
      grantedByUserId: input.grantedByUserId,
      options: optionsOf(input.options),
      platform: this.sealPlatform(input.platform),
      health: 'ok',
    });
    return this.open(doc.toObject());
  }

  /** By id; outside `scope` it is not found. Without a scope: any tenant's (the bridge's own lookups). */
  async findById(id: string, scope: TenantScope = ALL_TENANTS): Promise<ConnectionRecord | null> {
    const doc = await this.model.findOne({ _id: id, ...scopeFilter(scope) }).lean<ConnectionDoc>();
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

  async list(scope: TenantScope): Promise<ConnectionRecord[]> {
    const docs = await this.model.find(scopeFilter(scope)).sort({ createdAt: 1 }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  async delete(id: string, scope: TenantScope = ALL_TENANTS): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id, ...scopeFilter(scope) });
    return res.deletedCount === 1;
  }

  async setHealth(id: string, health: ConnectionHealth): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { health } });
  }

  /**
   * The token lifecycle's one write (src/tokens/): the health and what Meta said, and with `renewed` the new token
   * in place of the old. It lands only while the connection still holds the token that was inspected and the
   * health it had then, so a check that took a while never overwrites a token replaced meanwhile (admin,
   * onboarding, another process's renewal) nor a needs_reauth that a failed send set meanwhile. False when either
   * changed.
   */
  async recordTokenCheck(
    id: string,
    seen: { metaToken: string; health: ConnectionHealth },
    change: { health: ConnectionHealth; token: TokenDetails; renewed?: string },
  ): Promise<boolean> {
    const doc = await this.model.findOne({ _id: id }, { metaToken: 1, health: 1 }).lean<Pick<ConnectionDoc, 'metaToken' | 'health'>>();
    if (!doc?.metaToken || doc.health !== seen.health || this.keys.decrypt(doc.metaToken.ct) !== seen.metaToken) return false;
    const set = { health: change.health, token: change.token, ...(change.renewed !== undefined ? { metaToken: this.seal(change.renewed) } : {}) };
    // The ciphertext as read is the compare-and-set guard (a key rotation in between also makes this miss; the
    // next check then simply runs again).
    const res = await this.model.updateOne({ _id: id, 'metaToken.ct': doc.metaToken.ct, health: seen.health }, { $set: set });
    return res.matchedCount === 1;
  }

  /** The connections whose Meta token this Facebook user (app-scoped id) granted, in every tenant. */
  async grantedBy(userId: string): Promise<ConnectionRecord[]> {
    const docs = await this.model.find({ grantedByUserId: userId }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /** The WhatsApp connections of one WhatsApp Business Account (every tenant's: the WABA is what lost access). */
  async ofWaba(wabaId: string): Promise<ConnectionRecord[]> {
    const docs = await this.model.find({ channel: 'whatsapp', wabaId }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /** The Messenger and Instagram connections of one Page or Instagram account. */
  async ofPage(pageId: string): Promise<ConnectionRecord[]> {
    const docs = await this.model.find({ businessId: pageId, channel: { $in: ['messenger', 'instagram'] } }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /**
   * Every tenant's connections Meta reaches through one webhook subscription of the app: a WABA's numbers, or a
   * Page's Messenger connection and the Instagram connections on that Page's token (those whose Page is recorded).
   */
  async subscribedThrough(subscription: MetaSubscription): Promise<ConnectionRecord[]> {
    const filter = subscription.kind === 'waba'
      ? { channel: 'whatsapp', wabaId: subscription.id }
      : { $or: [{ channel: 'messenger', businessId: subscription.id }, { channel: 'instagram', pageId: subscription.id }] };
    const docs = await this.model.find(filter).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /** Instagram connections on a Page token whose Page is not recorded (made before it was kept, or pasted in). */
  async instagramWithoutPage(): Promise<ConnectionRecord[]> {
    const docs = await this.model.find({ channel: 'instagram', pageId: { $exists: false }, 'options.tokenKind': { $ne: 'instagram_login' } }).lean<ConnectionDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /**
   * Deletes the Meta token and marks the connection disconnected; the platform side stays, so connecting the
   * account again (update with a new token) brings it back as it was. True when a token was removed.
   */
  async disconnect(id: string): Promise<boolean> {
    const res = await this.model.updateOne({ _id: id, metaToken: { $exists: true } }, { $unset: { metaToken: 1, token: 1 }, $set: { health: 'disconnected' } });
    return res.modifiedCount === 1;
  }

  /** Drops a Facebook user's id from every connection that kept it as who granted the token; returns how many. */
  async forgetGrantingUser(userId: string): Promise<number> {
    const res = await this.model.updateMany({ grantedByUserId: userId }, { $unset: { grantedByUserId: 1 } });
    return res.modifiedCount;
  }

  /**
   * Onboarding again (a new Meta token from Embedded Signup or Login) or moving to a new Chatwoot inbox: the
   * given parts are replaced, sealed here like at creation. A new Meta token makes the connection healthy again.
   * `grantedByUserId: null` removes who granted the token (a new token nobody known granted); left out, it stays.
   */
  async update(id: string, changes: { metaToken?: string; grantedByUserId?: string | null; platform?: PlatformSettings; wabaId?: string; pageId?: string; name?: string }): Promise<ConnectionRecord | null> {
    const set: Record<string, unknown> = {};
    // What was known about the old token is dropped with it: the token lifecycle inspects the new one.
    const unset: Record<string, 1> = changes.metaToken !== undefined ? { token: 1 } : {};
    if (changes.metaToken !== undefined) Object.assign(set, { metaToken: this.seal(changes.metaToken), tokenSetAt: new Date(), health: 'ok' });
    if (changes.platform !== undefined) set.platform = this.sealPlatform(changes.platform);
    if (changes.grantedByUserId === null) unset.grantedByUserId = 1;
    else if (changes.grantedByUserId !== undefined) set.grantedByUserId = changes.grantedByUserId;
    if (changes.wabaId !== undefined) set.wabaId = changes.wabaId;
    if (changes.pageId !== undefined) set.pageId = changes.pageId;
    if (changes.name !== undefined) set.name = changes.name;
    const hasUnset = Object.keys(unset).length > 0;
    if (Object.keys(set).length > 0 || hasUnset) await this.model.updateOne({ _id: id }, { ...(Object.keys(set).length > 0 ? { $set: set } : {}), ...(hasUnset ? { $unset: unset } : {}) });
    return this.findById(id);
  }
}

export function newConnectionId(): string {
  return `con_${randomBytes(9).toString('base64url')}`;
}

/** Only the options that are set (an empty object is not stored, and reads back as undefined). */
function optionsOf(options: ChannelOptions | null | undefined): ChannelOptions | undefined {
  if (!options) return undefined;
  const set: ChannelOptions = {};
  if (typeof options.humanAgentTag === 'boolean') set.humanAgentTag = options.humanAgentTag;
  if (options.tokenKind === 'page' || options.tokenKind === 'instagram_login') set.tokenKind = options.tokenKind;
  return Object.keys(set).length > 0 ? set : undefined;
}
