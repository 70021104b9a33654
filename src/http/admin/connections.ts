/**
 * Admin API, connections: create, list, read and delete, always inside the caller's tenant. Secrets go in,
 * never come out. A tenant creates connections for itself; the super-admin names the tenant.
 */
import { Router } from 'express';
import Joi from 'joi';
import { randomBytes } from 'node:crypto';
import { HttpError } from '../errors';
import { apiKeyHash, isPlatform, publicView, type ChannelOptions, type ConnectionRecord, type ConnectionRepository, type NewConnection, type PlatformSettings } from '../../store/connections';
import type { TenantRepository } from '../../store/tenants';
import type { AuditLog } from '../../store/audit';
import type { ChannelKind } from '../../core/events';
import { chatwootWebhookUrl } from '../chatwoot-webhook';
import { PLATFORM_API_BASE } from '../platform-api';
import { isDuplicateKeyError } from '../../store/mongo';
import type { ConnectionDeletion } from '../../onboarding/unsubscribe';
import { actorOf, callerOf, scopeOf } from './auth';

export interface ConnectionAdminDeps {
  publicUrl: string;
  connections: ConnectionRepository;
  tenants: TenantRepository;
  audit: AuditLog;
  onConnectionsChanged(): void;
  onConnectionCreated(conn: ConnectionRecord): Promise<void>;
  /**
   * Erases what the bridge holds for a connection that was just deleted (records, mappings, queued work), and
   * unsubscribes the app at Meta when it was the last connection on its WABA or Page.
   */
  onConnectionDeleted(conn: ConnectionRecord): Promise<ConnectionDeletion>;
}

const newConnectionSchema = Joi.object({
  tenantId: Joi.string().max(64).description('super-admin only: the tenant that owns the connection'),
  name: Joi.string().max(200).required(),
  channel: Joi.string().valid('whatsapp', 'messenger', 'instagram').required(),
  businessId: Joi.string().pattern(/^\d{5,30}$/).required().description('phone_number_id (WhatsApp), Page id (Messenger) or Instagram account id'),
  wabaId: Joi.when('channel', { is: 'whatsapp', then: Joi.string().pattern(/^\d{5,30}$/), otherwise: Joi.forbidden() }),
  options: Joi.when('channel', {
    switch: [
      { is: 'messenger', then: Joi.object({ humanAgentTag: Joi.boolean() }) },
      { is: 'instagram', then: Joi.object({ humanAgentTag: Joi.boolean(), tokenKind: Joi.string().valid('page', 'instagram_login') }) },
    ],
    otherwise: Joi.forbidden(),
  }),
  metaAccessToken: Joi.string().min(10).max(4096).required(),
  platform: Joi.alternatives().conditional('.kind', {
    is: 'generic',
    then: Joi.object({
      kind: Joi.string().valid('generic').required(),
      url: Joi.string().uri({ scheme: ['http', 'https'] }).required().description('where the bridge POSTs signed events'),
      signingSecret: Joi.string().min(32).max(512).description('generated (and shown once) when not given'),
    }),
    otherwise: Joi.object({
      kind: Joi.string().valid('chatwoot').required(),
      baseUrl: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
      accountId: Joi.number().integer().min(1).required(),
      inboxId: Joi.number().integer().min(1).required(),
      apiAccessToken: Joi.string().min(8).max(512).required(),
      webhookSecret: Joi.string().min(8).max(512),
    }),
  }).required(),
});

interface NewConnectionBody {
  tenantId?: string;
  name: string;
  channel: ChannelKind;
  businessId: string;
  wabaId?: string;
  options?: ChannelOptions;
  metaAccessToken: string;
  platform:
    | { kind: 'chatwoot'; baseUrl: string; accountId: number; inboxId: number; apiAccessToken: string; webhookSecret?: string }
    | { kind: 'generic'; url: string; signingSecret?: string };
}

/** Secrets the bridge made for a new generic connection: in the creation response only, never again. */
interface IssuedSecrets {
  apiKey?: string;
  signingSecret?: string;
}

function platformInput(p: NewConnectionBody['platform'], issued: IssuedSecrets): PlatformSettings {
  if (p.kind === 'chatwoot') {
    return { kind: 'chatwoot', baseUrl: p.baseUrl, accountId: p.accountId, inboxId: p.inboxId, apiToken: p.apiAccessToken, webhookSecret: p.webhookSecret };
  }
  issued.apiKey = `bk_${randomBytes(32).toString('base64url')}`;
  const signingSecret = p.signingSecret ?? (issued.signingSecret = `whsec_${randomBytes(32).toString('base64url')}`);
  return { kind: 'generic', url: p.url, signingSecret, apiKeyHash: apiKeyHash(issued.apiKey) };
}

/** The connection routes; mounted under /admin behind requireAdminCaller and a JSON body parser. */
export function connectionAdminRouter(deps: ConnectionAdminDeps): Router {
  const router = Router();
  // The webhook URL to paste into the Chatwoot inbox is part of the view; it holds no stored secret.
  const view = (rec: ConnectionRecord): Record<string, unknown> => isPlatform(rec, 'chatwoot')
    ? { ...publicView(rec), chatwootWebhookUrl: chatwootWebhookUrl(deps.publicUrl, rec) }
    : { ...publicView(rec), platformApiUrl: `${deps.publicUrl.replace(/\/+$/, '')}${PLATFORM_API_BASE}` };

  router.post('/connections', async (req, res) => {
    const caller = callerOf(res);
    const { value, error } = newConnectionSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid connection', error.details.map((d) => d.message));
    const body = value as NewConnectionBody;
    const tenantId = await owningTenant(caller.kind === 'tenant' ? caller.tenant.id : undefined, body.tenantId);
    const issued: IssuedSecrets = {};
    const input: NewConnection = {
      tenantId,
      name: body.name,
      channel: body.channel,
      businessId: body.businessId,
      wabaId: body.wabaId,
      options: body.options,
      metaToken: body.metaAccessToken,
      platform: platformInput(body.platform, issued),
    };
    try {
      const created = await deps.connections.create(input);
      deps.onConnectionsChanged();
      await deps.audit.record({ tenantId, actor: actorOf(caller), action: 'connection.create', target: { type: 'connection', id: created.id },
        details: { channel: created.channel, platform: created.platform.kind } });
      await deps.onConnectionCreated(created);
      const shown = view(created);
      res.status(201).json(Object.keys(issued).length > 0 ? { ...shown, platform: { ...shown.platform as object, ...issued } } : shown);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new HttpError('conflict', 'this business id is already connected');
      throw err;
    }
  });

  router.get('/connections', async (_req, res) => {
    res.json({ connections: (await deps.connections.list(scopeOf(callerOf(res)))).map(view) });
  });

  router.get('/connections/:id', async (req, res) => {
    const found = await deps.connections.findById(req.params.id as string, scopeOf(callerOf(res)));
    if (!found) throw new HttpError('not_found', 'no such connection');
    res.json(view(found));
  });

  router.delete('/connections/:id', async (req, res) => {
    const caller = callerOf(res);
    const found = await deps.connections.findById(req.params.id as string, scopeOf(caller));
    if (!found || !(await deps.connections.delete(found.id, scopeOf(caller)))) throw new HttpError('not_found', 'no such connection');
    deps.onConnectionsChanged();
    const { metaUnsubscribe } = await deps.onConnectionDeleted(found);
    await deps.audit.record({ tenantId: found.tenantId, actor: actorOf(caller), action: 'connection.delete', target: { type: 'connection', id: found.id },
      details: { metaUnsubscribe: metaUnsubscribe.outcome, ...(metaUnsubscribe.subscription ? { metaSubscription: metaUnsubscribe.subscription } : {}) } });
    // The connection is gone either way; `metaUnsubscribe.action` says when Meta may still be sending its webhooks.
    res.json({ id: found.id, deleted: true, metaUnsubscribe });
  });
  return router;

  /** A tenant always owns what it creates; the super-admin must name an existing tenant. */
  async function owningTenant(callerTenantId: string | undefined, requested: string | undefined): Promise<string> {
    if (callerTenantId) {
      if (requested && requested !== callerTenantId) throw new HttpError('invalid_request', 'tenantId is set by your API key; leave it out');
      return callerTenantId;
    }
    if (!requested) throw new HttpError('invalid_request', 'invalid connection', ['"tenantId" is required with the super-admin key']);
    if (!(await deps.tenants.findById(requested))) throw new HttpError('invalid_request', 'invalid connection', ['"tenantId" names no tenant']);
    return requested;
  }
}
