/**
 * The Chatwoot connector install: given a Chatwoot base URL, account id and an administrator's token, the bridge
 * keeps the token (sealed), creates one API inbox per connection with its webhook_url pointing at that
 * connection's webhook URL, reads the inbox's identifier and signing secret (Chatwoot ≥ 4.13 shows `secret` to
 * administrators only), sets the reply window, and stores all of it on the connection. Every step is idempotent:
 *
 *  - the installation is keyed by (tenant, base URL, account), so a re-run replaces the token in place;
 *  - the inbox is looked up before one is created: first the inbox whose webhook_url already names this
 *    connection; else an API inbox with the same name whose webhook_url is empty or names a connection of this
 *    bridge that no longer exists (left by an uninstall, or by a run that stopped between creating the inbox and
 *    storing the connection). An inbox that serves anything else is never taken over.
 *
 * Uninstall clears the webhook_url of every inbox the installation made (conversations stay in Chatwoot), then
 * deletes the connections it served and the installation: the admin token, the Meta tokens and the signing
 * secrets all go with them.
 */
import axios, { isAxiosError } from 'axios';
import { ChatwootClient, ChatwootNotFound } from '../platforms/chatwoot/client';
import { PermanentError, RetryableError } from '../core/errors';
import { chatwootWebhookUrl } from '../http/chatwoot-webhook';
import { isDuplicateKeyError } from '../store/mongo';
import { newConnectionId, type ChannelOptions, type ChatwootPlatformSettings, type ConnectionRecord, type ConnectionRepository } from '../store/connections';
import type { ChatwootInstallation, ChatwootInstallationRepository } from '../store/chatwoot-installations';
import type { ChannelKind } from '../core/events';
import type { Logger } from '../log/logger';
import { OnboardingError, fromChatwoot } from './errors';
import { usableTokensLast, type ConnectionDeletion, type ConnectionUnsubscribe } from './unsubscribe';

/** The parts of Chatwoot's inbox JSON (`_inbox.json.jbuilder`) the installer reads. */
interface InboxJson {
  id: number;
  name: string;
  channel_type?: string;
  webhook_url?: string | null;
  inbox_identifier?: string;
  /** Chatwoot ≥ 4.13, administrators only: the key Chatwoot signs this inbox's webhooks with. */
  secret?: string | null;
}

export interface InstalledInbox {
  inboxId: number;
  identifier: string;
  name: string;
  webhookUrl: string;
  /** Whether Chatwoot signs (≥ 4.13); without it the URL carries a per-connection token instead. */
  signed: boolean;
  created: boolean;
}

/** A Meta channel to place into an installation's account: a new connection, or an existing one moved there. */
export interface ChannelPlacement {
  tenantId: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  /** Instagram on a Page token: the Page it is linked to (whose webhook subscription it shares). */
  pageId?: string;
  options?: ChannelOptions;
  /** The Meta token to store; an existing connection keeps its own when this is not given. */
  metaToken?: string;
  /**
   * The app-scoped id of the Facebook user who granted `metaToken` (Facebook Login, a verified Embedded Signup
   * signedRequest). It goes with the token: a new token replaces it (and removes it when not given: nobody known
   * granted that one); without a new token the connection keeps the one it has.
   */
  grantedByUserId?: string;
  /** The connection's name; for a new inbox, its name in Chatwoot too. */
  name: string;
  /** Name of the Chatwoot inbox when it differs from the connection's. */
  inboxName?: string;
}

export interface PlacedConnection {
  connection: ConnectionRecord<'chatwoot'>;
  inbox: InstalledInbox;
  /** False when the connection existed and was updated in place. */
  createdConnection: boolean;
}

export interface UninstallReport {
  webhooksCleared: number;
  /** Inboxes whose webhook could not be cleared (only with force: Chatwoot did not answer). */
  webhooksLeft: number[];
  connectionsDeleted: string[];
  /** For each connection deleted: whether Meta was told to stop sending its webhooks (src/onboarding/unsubscribe.ts). */
  metaUnsubscribe: ConnectionUnsubscribe[];
}

export interface ChatwootInstallerDeps {
  publicUrl: string;
  timeoutMs: number;
  installations: ChatwootInstallationRepository;
  connections: ConnectionRepository;
  /** Sets the inbox's reply window for the connection's channel (the Chatwoot platform's prepareInbox). */
  prepareInbox(conn: ConnectionRecord<'chatwoot'>): Promise<void>;
  /** Erases a connection and what it left behind, like DELETE /admin/connections/:id. */
  deleteConnection(conn: ConnectionRecord): Promise<ConnectionDeletion>;
  /** Routing caches forget connections after a change. */
  onConnectionsChanged(): void;
  log: Logger;
}

/** Chatwoot's inbox names: kept to letters, digits and a little punctuation, and short. */
export function inboxNameOf(name: string): string {
  const cleaned = name.replace(/[^\p{L}\p{N} .,()+&'’…-]+/gu, ' ').replace(/\s+/g, ' ').trim();
  return (cleaned || 'Meta channel').slice(0, 100);
}

export class ChatwootInstaller {
  private readonly webhookBase: string;

  constructor(private readonly deps: ChatwootInstallerDeps) {
    this.webhookBase = `${deps.publicUrl.replace(/\/+$/, '')}/webhooks/chatwoot/`;
  }

  private client(inst: Pick<ChatwootInstallation, 'baseUrl' | 'accountId' | 'adminToken'>): ChatwootClient {
    return new ChatwootClient({ baseUrl: inst.baseUrl, accountId: inst.accountId, apiToken: inst.adminToken }, this.deps.timeoutMs);
  }

  /**
   * Checks the token belongs to an administrator of the account (GET /api/v1/profile lists the user's accounts
   * with their role), then keeps it. An agent's token could read but not create inboxes nor see their secrets.
   */
  async connectAccount(input: { tenantId: string; baseUrl: string; accountId: number; adminToken: string }): Promise<{ installation: ChatwootInstallation; created: boolean }> {
    const role = await this.roleOn(input.baseUrl, input.accountId, input.adminToken);
    if (role === undefined) {
      throw new OnboardingError('chatwoot_not_member', `This Chatwoot token's user is not a member of account ${input.accountId}. Check the account id (it is in the dashboard's URL: /app/accounts/<id>/…).`, 'invalid_request');
    }
    if (role !== 'administrator') {
      throw new OnboardingError('chatwoot_not_admin', `This Chatwoot token belongs to an ${role}, not an administrator, of account ${input.accountId}. Only an administrator can create inboxes and read their signing secrets: use an administrator's access token.`, 'invalid_request');
    }
    return this.deps.installations.upsert(input);
  }

  private async roleOn(baseUrl: string, accountId: number, token: string): Promise<string | undefined> {
    const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/profile`;
    try {
      const res = await axios.get<{ accounts?: Array<{ id?: number; role?: string }> }>(url, {
        headers: { api_access_token: token }, timeout: this.deps.timeoutMs, maxRedirects: 0,
      });
      // The profile also carries the user's own access token: nothing but the roles is read from it.
      return res.data.accounts?.find((a) => a.id === accountId)?.role ?? undefined;
    } catch (err) {
      if (!isAxiosError(err)) throw err;
      const status = err.response?.status;
      const cause = status === undefined ? new RetryableError(`Chatwoot GET /api/v1/profile: ${err.code ?? 'network error'}`)
        : status >= 500 || status === 429 ? new RetryableError(`Chatwoot GET /api/v1/profile: ${status}`)
          : status === 404 ? new ChatwootNotFound(`Chatwoot GET /api/v1/profile: 404`, 404)
            : new PermanentError(`Chatwoot GET /api/v1/profile: ${status}`, status);
      throw fromChatwoot('checking the token', baseUrl, accountId, cause);
    }
  }

  /** The webhook URL a connection's inbox must have: signed when Chatwoot gave a secret, else with the URL token. */
  private webhookUrlFor(connectionId: string, inst: ChatwootInstallation, secret: string | undefined): string {
    return chatwootWebhookUrl(this.deps.publicUrl, this.transient(connectionId, inst, 0, secret));
  }

  private transient(connectionId: string, inst: ChatwootInstallation, inboxId: number, secret: string | undefined, base?: Partial<ConnectionRecord>): ConnectionRecord<'chatwoot'> {
    const platform: ChatwootPlatformSettings = { kind: 'chatwoot', baseUrl: inst.baseUrl, accountId: inst.accountId, inboxId, apiToken: inst.adminToken, webhookSecret: secret };
    return {
      id: connectionId, tenantId: inst.tenantId, name: '', channel: 'whatsapp', businessId: '', metaToken: '', health: 'ok', createdAt: new Date(),
      ...base, platform,
    };
  }

  /** Whether an inbox's webhook_url names this connection (either form: signed, or with the URL token). */
  private namesConnection(url: string | null | undefined, connectionId: string): boolean {
    if (!url) return false;
    const own = `${this.webhookBase}${connectionId}`;
    return url === own || url.startsWith(`${own}/`);
  }

  /** An inbox the installer may take over: empty webhook_url, or one naming a connection of this bridge that is gone. */
  private async isLeftOver(url: string | null | undefined): Promise<boolean> {
    if (!url) return true;
    if (!url.startsWith(this.webhookBase)) return false;
    const id = url.slice(this.webhookBase.length).split('/')[0] ?? '';
    return /^con_[\w-]+$/.test(id) && (await this.deps.connections.findById(id)) === null;
  }

  /** Finds or creates the connection's inbox and points its webhook_url at the connection. */
  async ensureInbox(inst: ChatwootInstallation, connectionId: string, name: string): Promise<InstalledInbox & { secret?: string }> {
    const client = this.client(inst);
    const step = (what: string) => (err: unknown) => { throw fromChatwoot(what, inst.baseUrl, inst.accountId, err); };
    const wanted = inboxNameOf(name);
    const { payload } = await client.get<{ payload: InboxJson[] }>('/inboxes').catch(step('listing the inboxes'));
    const apiInboxes = payload.filter((i) => i.channel_type === undefined || i.channel_type === 'Channel::Api').sort((a, b) => a.id - b.id);
    let found = apiInboxes.find((i) => this.namesConnection(i.webhook_url, connectionId));
    if (!found) {
      for (const candidate of apiInboxes.filter((i) => i.name === wanted)) {
        if (await this.isLeftOver(candidate.webhook_url)) { found = candidate; break; }
      }
    }
    let inbox: InboxJson;
    let created = false;
    if (found) {
      // The list may be a summary (newer Chatwoot): the inbox itself has the identifier and, for admins, the secret.
      inbox = await client.get<InboxJson>(`/inboxes/${found.id}`).catch(step('reading the inbox'));
    } else {
      inbox = await client.post<InboxJson>('/inboxes', {
        name: wanted,
        // The signed form first; whether this Chatwoot signs is known only from the answer (below).
        channel: { type: 'api', webhook_url: `${this.webhookBase}${connectionId}` },
      }).catch(step('creating the inbox'));
      created = true;
    }
    const secret = typeof inbox.secret === 'string' && inbox.secret.length > 0 ? inbox.secret : undefined;
    const webhookUrl = this.webhookUrlFor(connectionId, inst, secret);
    if (inbox.webhook_url !== webhookUrl) {
      await client.patch(`/inboxes/${inbox.id}`, { channel: { webhook_url: webhookUrl } }).catch(step('setting the inbox webhook'));
    }
    if (!inbox.inbox_identifier) {
      throw new OnboardingError('chatwoot_not_api_inbox', `Chatwoot inbox ${inbox.id} has no inbox identifier; it is not an API inbox.`, 'upstream_failed');
    }
    return { inboxId: inbox.id, identifier: inbox.inbox_identifier, name: inbox.name, webhookUrl, signed: Boolean(secret), created, secret };
  }

  /**
   * Puts a Meta channel into the installation's account: its own inbox (found or made), the reply window set,
   * then the connection stored (created, or updated in place when this business id is already the tenant's),
   * with the inbox id and signing secret. The connection is written last, so a run that stops earlier leaves at
   * most an inbox, which the next run takes over (see isLeftOver).
   */
  async place(inst: ChatwootInstallation, spec: ChannelPlacement): Promise<PlacedConnection> {
    const existing = await this.deps.connections.findByBusinessId(spec.channel, spec.businessId);
    if (existing && existing.tenantId !== spec.tenantId) {
      throw new OnboardingError('connected_elsewhere', `This ${spec.channel === 'whatsapp' ? 'WhatsApp number' : spec.channel === 'messenger' ? 'Facebook Page' : 'Instagram account'} is already connected to another account on this bridge. Disconnect it there first.`, 'conflict');
    }
    if (existing && existing.platform.kind !== 'chatwoot') {
      throw new OnboardingError('connected_to_generic_platform', 'This channel already forwards to another platform (a generic HTTP platform) on this bridge. Remove that connection first to move it to Chatwoot.', 'conflict');
    }
    if (!existing && !spec.metaToken) throw new Error('a new connection needs a Meta token');
    const id = existing?.id ?? newConnectionId();
    const inbox = await this.ensureInbox(inst, id, spec.inboxName ?? spec.name);
    const platform: ChatwootPlatformSettings = {
      kind: 'chatwoot', baseUrl: inst.baseUrl, accountId: inst.accountId, inboxId: inbox.inboxId, apiToken: inst.adminToken, webhookSecret: inbox.secret,
    };
    const draft = this.transient(id, inst, inbox.inboxId, inbox.secret, {
      name: spec.name, channel: spec.channel, businessId: spec.businessId, wabaId: spec.wabaId, options: spec.options ?? existing?.options,
    });
    await this.deps.prepareInbox(draft).catch((err: unknown) => { throw fromChatwoot('setting the reply window', inst.baseUrl, inst.accountId, err); });

    let stored: ConnectionRecord | null;
    let createdConnection = false;
    if (existing) {
      stored = await this.deps.connections.update(id, {
        platform, metaToken: spec.metaToken, wabaId: spec.wabaId, pageId: spec.pageId,
        ...(spec.metaToken !== undefined ? { grantedByUserId: spec.grantedByUserId ?? null } : {}),
      });
    } else {
      try {
        stored = await this.deps.connections.create({
          tenantId: spec.tenantId, name: spec.name, channel: spec.channel, businessId: spec.businessId, wabaId: spec.wabaId, pageId: spec.pageId,
          options: spec.options, metaToken: spec.metaToken!, grantedByUserId: spec.grantedByUserId, platform,
        }, id);
        createdConnection = true;
      } catch (err) {
        if (isDuplicateKeyError(err)) {
          throw new OnboardingError('connect_race', 'This channel was connected by another request at the same moment. Reload the page to see it.', 'conflict');
        }
        throw err;
      }
    }
    if (!stored || stored.platform.kind !== 'chatwoot') throw new Error(`connection ${id} vanished while it was being placed`);
    await this.deps.installations.bind({ connectionId: id, tenantId: spec.tenantId, installationId: inst.id, inboxId: inbox.inboxId, identifier: inbox.identifier });
    this.deps.onConnectionsChanged();
    const { secret: _secret, ...shown } = inbox;
    return { connection: stored as ConnectionRecord<'chatwoot'>, inbox: shown, createdConnection };
  }

  /**
   * A connection was deleted (DELETE /admin/connections/:id, a tenant's deletion): its inbox stops calling the
   * bridge (webhook_url cleared; conversations stay) and the binding goes. Best effort: a Chatwoot that does not
   * answer is logged, and the inbox's calls then get 404 from the bridge until someone clears it in Chatwoot.
   */
  async releaseInbox(conn: ConnectionRecord): Promise<void> {
    const binding = await this.deps.installations.bindingOf(conn.id);
    if (!binding) return;
    const inst = await this.deps.installations.findById(binding.installationId, { tenantId: binding.tenantId });
    if (inst) {
      try {
        await this.client(inst).patch(`/inboxes/${binding.inboxId}`, { channel: { webhook_url: '' } });
      } catch (err) {
        if (!(err instanceof ChatwootNotFound)) {
          this.deps.log.warn("could not clear a deleted connection's inbox webhook; clear it in Chatwoot", { connectionId: conn.id, inboxId: binding.inboxId, reason: (err as Error).message });
        }
      }
    }
    await this.deps.installations.unbind(conn.id);
  }

  /**
   * After the token of an installation changed: every connection it serves gets the new token (and, on a
   * Chatwoot too old to sign, the webhook URL whose token derives from it). Returns how many were refreshed.
   */
  async refreshConnections(inst: ChatwootInstallation, except?: string): Promise<number> {
    let refreshed = 0;
    for (const b of await this.deps.installations.bindingsOf(inst.id)) {
      if (b.connectionId === except) continue;
      const conn = await this.deps.connections.findById(b.connectionId);
      if (!conn || conn.platform.kind !== 'chatwoot' || conn.platform.baseUrl !== inst.baseUrl || conn.platform.accountId !== inst.accountId) continue;
      await this.place(inst, { tenantId: conn.tenantId, channel: conn.channel, businessId: conn.businessId, wabaId: conn.wabaId, pageId: conn.pageId, options: conn.options, name: conn.name });
      refreshed += 1;
    }
    return refreshed;
  }

  /**
   * Clears every inbox's webhook, then erases the connections and the installation. Without `force`, a Chatwoot
   * that cannot be reached stops the uninstall before anything is deleted (run it again later); with `force`,
   * the bridge's side is erased anyway and the inboxes whose webhook is left are named.
   */
  async uninstall(inst: ChatwootInstallation, opts: { force?: boolean } = {}): Promise<UninstallReport> {
    const client = this.client(inst);
    const bindings = await this.deps.installations.bindingsOf(inst.id);
    const report: UninstallReport = { webhooksCleared: 0, webhooksLeft: [], connectionsDeleted: [], metaUnsubscribe: [] };
    for (const b of bindings) {
      try {
        await client.patch(`/inboxes/${b.inboxId}`, { channel: { webhook_url: '' } });
        report.webhooksCleared += 1;
      } catch (err) {
        if (err instanceof ChatwootNotFound) continue; // the inbox was deleted in Chatwoot: nothing left to clear
        if (!opts.force) throw fromChatwoot(`clearing the webhook of inbox ${b.inboxId} (nothing was deleted; retry, or force the uninstall)`, inst.baseUrl, inst.accountId, err);
        report.webhooksLeft.push(b.inboxId);
        this.deps.log.warn('uninstall: could not clear an inbox webhook; forced', { installationId: inst.id, inboxId: b.inboxId, reason: (err as Error).message });
      }
    }
    const bound: Array<{ connectionId: string; conn: ConnectionRecord | null }> = [];
    for (const b of bindings) bound.push({ connectionId: b.connectionId, conn: await this.deps.connections.findById(b.connectionId) });
    // One by one, so the last of a WABA's (or Page's) connections to go is the one that unsubscribes the app at Meta;
    // those without a working token go first, so that last one holds a token Meta still accepts.
    for (const { connectionId, conn } of usableTokensLast(bound, (b) => b.conn)) {
      // Unbound first, so the erasure of the connection (releaseInbox) does not clear the webhook a second time.
      await this.deps.installations.unbind(connectionId);
      // Only a connection still on this installation's account goes: one moved elsewhere since keeps working.
      if (conn && conn.platform.kind === 'chatwoot' && conn.platform.baseUrl === inst.baseUrl && conn.platform.accountId === inst.accountId) {
        await this.deps.connections.delete(conn.id);
        const deletion = await this.deps.deleteConnection(conn);
        report.connectionsDeleted.push(conn.id);
        report.metaUnsubscribe.push({ connectionId: conn.id, ...deletion.metaUnsubscribe });
      }
    }
    await this.deps.installations.delete(inst.id);
    this.deps.onConnectionsChanged();
    return report;
  }
}
