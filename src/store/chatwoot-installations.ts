/**
 * The Chatwoot connector: one installation per tenant and Chatwoot account (base URL + account id), holding the
 * account administrator's token sealed, and one inbox per connection it serves. A Chatwoot API inbox has exactly
 * one webhook_url and the bridge's webhook URL names a connection, so an installation serving several numbers or
 * Pages owns several inboxes: `chatwoot_inboxes` records which (by connection id), with the inbox's public
 * identifier. The inbox's signing secret lives, sealed, on the connection itself (platform.webhookSecret), where
 * the webhook edge reads it.
 *
 * Installation ids are derived from (tenant, base URL, account), so a re-run of the install lands on the same
 * document with one `_id` upsert: idempotent, race-free, and fast on FerretDB (which is only quick on `_id`).
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';
import { createHash } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring';
import type { TenantScope } from './connections';

interface SealedSecret {
  ct: string;
  kid: string;
}

interface InstallationDoc {
  _id: string;
  tenantId: string;
  baseUrl: string;
  accountId: number;
  adminToken: SealedSecret;
  createdAt: Date;
  updatedAt: Date;
}

interface InboxBindingDoc {
  /** The connection the inbox serves. */
  _id: string;
  tenantId: string;
  installationId: string;
  inboxId: number;
  /** Chatwoot's `inbox_identifier` (the Public API's name for the inbox): not a secret. */
  identifier: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChatwootInstallation {
  id: string;
  tenantId: string;
  baseUrl: string;
  accountId: number;
  /** Plaintext in memory only. */
  adminToken: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface InboxBinding {
  connectionId: string;
  tenantId: string;
  installationId: string;
  inboxId: number;
  identifier: string;
}

const sealedSecret = new Schema<SealedSecret>({ ct: { type: String, required: true }, kid: { type: String, required: true } }, { _id: false });

const installationSchema = new Schema<InstallationDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    baseUrl: { type: String, required: true },
    accountId: { type: Number, required: true },
    adminToken: { type: sealedSecret, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'chatwoot_installations' },
);
installationSchema.index({ tenantId: 1 });

const bindingSchema = new Schema<InboxBindingDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    installationId: { type: String, required: true },
    inboxId: { type: Number, required: true },
    identifier: { type: String, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'chatwoot_inboxes' },
);
bindingSchema.index({ installationId: 1 });

/** The one spelling of a Chatwoot base URL the bridge keeps (no trailing slash), so `…/` and `…` are one install. */
export function normalizeBaseUrl(baseUrl: string): string {
  return baseUrl.trim().replace(/\/+$/, '');
}

export function installationIdOf(tenantId: string, baseUrl: string, accountId: number): string {
  const digest = createHash('sha256').update(`${tenantId}\n${normalizeBaseUrl(baseUrl)}\n${accountId}`).digest('base64url');
  return `cwi_${digest.slice(0, 18)}`;
}

function scopeFilter(scope: TenantScope): { tenantId?: string } {
  return 'tenantId' in scope ? { tenantId: scope.tenantId } : {};
}

export class ChatwootInstallationRepository {
  readonly model: Model<InstallationDoc>;
  readonly inboxes: Model<InboxBindingDoc>;

  constructor(db: MongoConnection, private readonly keys: KeyRing) {
    this.model = db.model<InstallationDoc>('ChatwootInstallation', installationSchema);
    this.inboxes = db.model<InboxBindingDoc>('ChatwootInbox', bindingSchema);
  }

  private open(doc: InstallationDoc): ChatwootInstallation {
    return {
      id: doc._id, tenantId: doc.tenantId, baseUrl: doc.baseUrl, accountId: doc.accountId,
      adminToken: this.keys.decrypt(doc.adminToken.ct), createdAt: doc.createdAt, updatedAt: doc.updatedAt,
    };
  }

  /** Creates the installation or replaces its token; `created` tells which. */
  async upsert(input: { tenantId: string; baseUrl: string; accountId: number; adminToken: string }): Promise<{ installation: ChatwootInstallation; created: boolean }> {
    const baseUrl = normalizeBaseUrl(input.baseUrl);
    const id = installationIdOf(input.tenantId, baseUrl, input.accountId);
    const { token, keyId } = this.keys.encrypt(input.adminToken);
    const before = await this.model.findOneAndUpdate(
      { _id: id },
      { $set: { adminToken: { ct: token, kid: keyId } }, $setOnInsert: { tenantId: input.tenantId, baseUrl, accountId: input.accountId } },
      { upsert: true, new: false, timestamps: true },
    ).lean<InstallationDoc>();
    const doc = await this.model.findById(id).lean<InstallationDoc>();
    if (!doc) throw new Error(`installation ${id} vanished right after it was written`);
    return { installation: this.open(doc), created: !before };
  }

  async findById(id: string, scope: TenantScope): Promise<ChatwootInstallation | null> {
    const doc = await this.model.findOne({ _id: id, ...scopeFilter(scope) }).lean<InstallationDoc>();
    return doc ? this.open(doc) : null;
  }

  async list(scope: TenantScope): Promise<ChatwootInstallation[]> {
    const docs = await this.model.find(scopeFilter(scope)).sort({ createdAt: 1 }).lean<InstallationDoc[]>();
    return docs.map((d) => this.open(d));
  }

  /** Removes the installation and with it the sealed admin token. */
  async delete(id: string): Promise<boolean> {
    return (await this.model.deleteOne({ _id: id })).deletedCount === 1;
  }

  async bind(binding: InboxBinding): Promise<void> {
    await this.inboxes.updateOne(
      { _id: binding.connectionId },
      { $set: { tenantId: binding.tenantId, installationId: binding.installationId, inboxId: binding.inboxId, identifier: binding.identifier } },
      { upsert: true },
    );
  }

  async bindingOf(connectionId: string): Promise<InboxBinding | null> {
    const doc = await this.inboxes.findById(connectionId).lean<InboxBindingDoc>();
    return doc ? bindingOf(doc) : null;
  }

  async bindingsOf(installationId: string): Promise<InboxBinding[]> {
    const docs = await this.inboxes.find({ installationId }).sort({ createdAt: 1 }).lean<InboxBindingDoc[]>();
    return docs.map(bindingOf);
  }

  async unbind(connectionId: string): Promise<void> {
    await this.inboxes.deleteOne({ _id: connectionId });
  }
}

function bindingOf(doc: InboxBindingDoc): InboxBinding {
  return { connectionId: doc._id, tenantId: doc.tenantId, installationId: doc.installationId, inboxId: doc.inboxId, identifier: doc.identifier };
}
