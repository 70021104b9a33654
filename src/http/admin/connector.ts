/**
 * Admin API, the Chatwoot connector and connect links:
 *
 *   POST   /admin/chatwoot/install              { baseUrl, accountId, adminToken, connectionId?, inboxName?, tenantId? }
 *          Keeps the tenant's installation for that Chatwoot account (an administrator's token, sealed) and, with
 *          connectionId, gives that connection its own API inbox (webhook_url → the connection's URL, signing
 *          secret read and sealed, reply window set). Idempotent: 201 the first time, 200 on a re-run, which
 *          also refreshes the token on every connection the installation serves.
 *   GET    /admin/chatwoot/installations[/:id]  what is installed, with the inbox of each connection (no secrets)
 *   DELETE /admin/chatwoot/installations/:id    uninstall: every inbox's webhook cleared, then the connections it
 *          served and the installation erased (tokens and secrets with them). ?force=true erases even when
 *          Chatwoot cannot be reached, and names the inboxes whose webhook is left. metaUnsubscribe says, per
 *          connection, whether the app was unsubscribed at Meta (the last connection on a WABA or Page).
 *   POST   /admin/connect-links                 { installationId?, tenantId? } → a short-lived URL of the
 *          connection page (WhatsApp Embedded Signup, Facebook Pages and Instagram) for that installation.
 *
 * An installation is per tenant and Chatwoot account, not per connection: a Chatwoot API inbox has one
 * webhook_url and the bridge's webhook URL names the connection, so each connection gets its own inbox in the
 * account, and one installation serves all of them with one admin token.
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import { httpErrorOf } from '../onboarding-errors';
import type { AuditLog } from '../../store/audit';
import type { ConnectionRepository } from '../../store/connections';
import type { TenantRepository } from '../../store/tenants';
import type { ChatwootInstallation, ChatwootInstallationRepository, InboxBinding } from '../../store/chatwoot-installations';
import type { ChatwootInstaller } from '../../onboarding/chatwoot-installer';
import type { ConnectTokens } from '../../onboarding/connect-links';
import type { Logger } from '../../log/logger';
import { summarizeUnsubscribes } from '../../onboarding/unsubscribe';
import { actorOf, callerOf, scopeOf, type Caller } from './auth';

export interface ConnectorAdminDeps {
  publicUrl: string;
  installations: ChatwootInstallationRepository;
  installer: ChatwootInstaller;
  connections: ConnectionRepository;
  tenants: TenantRepository;
  audit: AuditLog;
  connectTokens: ConnectTokens;
  /** Which connection flows this bridge is configured for (META_APP_ID and the configuration ids). */
  connectFlows: { whatsapp: boolean; pages: boolean };
  log: Logger;
}

const ID = Joi.string().max(64).pattern(/^[\w-]+$/);

const installSchema = Joi.object({
  tenantId: ID.description('super-admin only, and only without connectionId: the tenant the installation is for'),
  baseUrl: Joi.string().uri({ scheme: ['http', 'https'] }).max(500).required(),
  accountId: Joi.number().integer().min(1).required(),
  adminToken: Joi.string().min(8).max(512).required(),
  connectionId: ID,
  inboxName: Joi.string().trim().min(1).max(100),
});

const linkSchema = Joi.object({
  tenantId: ID,
  installationId: ID,
});

interface InstallBody {
  tenantId?: string;
  baseUrl: string;
  accountId: number;
  adminToken: string;
  connectionId?: string;
  inboxName?: string;
}

function view(inst: ChatwootInstallation, bindings: InboxBinding[]): Record<string, unknown> {
  return {
    id: inst.id, tenantId: inst.tenantId, baseUrl: inst.baseUrl, accountId: inst.accountId,
    inboxes: bindings.map((b) => ({ connectionId: b.connectionId, inboxId: b.inboxId, identifier: b.identifier })),
    createdAt: inst.createdAt.toISOString(), updatedAt: inst.updatedAt.toISOString(),
  };
}

export function connectorAdminRouter(deps: ConnectorAdminDeps): Router {
  const router = Router();
  const log = deps.log;

  /** A tenant acts for itself; the super-admin names an existing tenant. Anything else: 400, never a leak. */
  async function tenantFor(caller: Caller, requested: string | undefined): Promise<string> {
    if (caller.kind === 'tenant') {
      if (requested && requested !== caller.tenant.id) throw new HttpError('invalid_request', 'tenantId is set by your API key; leave it out');
      return caller.tenant.id;
    }
    if (!requested) throw new HttpError('invalid_request', '"tenantId" is required with the super-admin key');
    if (!(await deps.tenants.findById(requested))) throw new HttpError('invalid_request', '"tenantId" names no tenant');
    return requested;
  }

  router.post('/chatwoot/install', async (req, res) => {
    const caller = callerOf(res);
    const { value, error } = installSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid install request', error.details.map((d) => d.message));
    const body = value as InstallBody;
    const conn = body.connectionId ? await deps.connections.findById(body.connectionId, scopeOf(caller)) : null;
    if (body.connectionId && !conn) throw new HttpError('not_found', 'no such connection');
    if (conn && body.tenantId && body.tenantId !== conn.tenantId) throw new HttpError('invalid_request', 'tenantId differs from the connection\'s tenant; leave it out');
    if (conn && conn.platform.kind !== 'chatwoot') {
      throw new HttpError('conflict', 'this connection forwards to a generic platform; create a new connection for Chatwoot instead');
    }
    const tenantId = conn ? conn.tenantId : await tenantFor(caller, body.tenantId);
    const context = { tenantId, accountId: body.accountId, connectionId: conn?.id, requestId: res.locals.requestId };
    try {
      const { installation, created } = await deps.installer.connectAccount({ tenantId, baseUrl: body.baseUrl, accountId: body.accountId, adminToken: body.adminToken });
      const placed = conn ? await deps.installer.place(installation, {
        tenantId, channel: conn.channel, businessId: conn.businessId, wabaId: conn.wabaId, options: conn.options, name: conn.name, inboxName: body.inboxName,
      }) : undefined;
      // The token may have changed: every other connection of this installation gets it too.
      const refreshed = created ? 0 : await deps.installer.refreshConnections(installation, conn?.id);
      await deps.audit.record({
        tenantId, actor: actorOf(caller), action: 'chatwoot.install', target: { type: 'chatwoot_installation', id: installation.id },
        details: {
          accountId: installation.accountId, created, refreshed,
          ...(placed ? { connectionId: placed.connection.id, inboxId: placed.inbox.inboxId, inboxCreated: placed.inbox.created, signed: placed.inbox.signed } : {}),
        },
      });
      res.status(created ? 201 : 200).json({
        installation: view(installation, await deps.installations.bindingsOf(installation.id)),
        ...(placed ? { inbox: { connectionId: placed.connection.id, ...placed.inbox } } : {}),
      });
    } catch (err) {
      throw httpErrorOf(err, log, context);
    }
  });

  router.get('/chatwoot/installations', async (_req, res) => {
    const list = await deps.installations.list(scopeOf(callerOf(res)));
    res.json({ installations: await Promise.all(list.map(async (i) => view(i, await deps.installations.bindingsOf(i.id)))) });
  });

  router.get('/chatwoot/installations/:id', async (req, res) => {
    const inst = await deps.installations.findById(String(req.params.id), scopeOf(callerOf(res)));
    if (!inst) throw new HttpError('not_found', 'no such installation');
    res.json(view(inst, await deps.installations.bindingsOf(inst.id)));
  });

  router.delete('/chatwoot/installations/:id', async (req, res) => {
    const caller = callerOf(res);
    const inst = await deps.installations.findById(String(req.params.id), scopeOf(caller));
    if (!inst) throw new HttpError('not_found', 'no such installation');
    const force = req.query.force === 'true' || req.query.force === '1';
    try {
      const report = await deps.installer.uninstall(inst, { force });
      await deps.audit.record({
        tenantId: inst.tenantId, actor: actorOf(caller), action: 'chatwoot.uninstall', target: { type: 'chatwoot_installation', id: inst.id },
        details: { accountId: inst.accountId, forced: force, webhooksCleared: report.webhooksCleared, webhooksLeft: report.webhooksLeft.length, connectionsDeleted: report.connectionsDeleted.length,
          ...(report.metaUnsubscribe.length > 0 ? { metaUnsubscribe: summarizeUnsubscribes(report.metaUnsubscribe) } : {}) },
      });
      res.json({ id: inst.id, ...report });
    } catch (err) {
      throw httpErrorOf(err, log, { installationId: inst.id, requestId: res.locals.requestId });
    }
  });

  router.post('/connect-links', async (req, res) => {
    const caller = callerOf(res);
    const { value, error } = linkSchema.validate(req.body ?? {}, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid connect link request', error.details.map((d) => d.message));
    const body = value as { tenantId?: string; installationId?: string };
    let inst: ChatwootInstallation | null;
    if (body.installationId) {
      inst = await deps.installations.findById(body.installationId, scopeOf(caller));
      if (!inst) throw new HttpError('not_found', 'no such installation');
      if (body.tenantId && body.tenantId !== inst.tenantId) throw new HttpError('invalid_request', 'tenantId differs from the installation\'s tenant; leave it out');
    } else {
      const tenantId = await tenantFor(caller, body.tenantId);
      const all = await deps.installations.list({ tenantId });
      if (all.length === 0) throw new HttpError('invalid_request', 'install the Chatwoot connector first (POST /admin/chatwoot/install): new channels need a Chatwoot account to go to');
      if (all.length > 1) throw new HttpError('invalid_request', `this tenant has ${all.length} Chatwoot installations; name one with "installationId"`);
      inst = all[0]!;
    }
    const actor = actorOf(caller);
    const { token, link } = deps.connectTokens.mintLink({ tenantId: inst.tenantId, installationId: inst.id, createdBy: actor });
    await deps.audit.record({
      tenantId: inst.tenantId, actor, action: 'connect_link.create', target: { type: 'chatwoot_installation', id: inst.id },
      details: { linkId: link.id, expiresAt: link.expiresAt.toISOString() },
    });
    res.status(201).json({
      url: `${deps.publicUrl.replace(/\/+$/, '')}/connect/${token}`,
      linkId: link.id, tenantId: inst.tenantId, installationId: inst.id, expiresAt: link.expiresAt.toISOString(), flows: deps.connectFlows,
    });
  });

  return router;
}
