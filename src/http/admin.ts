/**
 * The admin API (Authorization: Bearer <ADMIN_API_KEY>): create, list, read and delete connections. Secrets go in,
 * never come out.
 */
import express, { Router, type RequestHandler } from 'express';
import Joi from 'joi';
import { timingSafeEqual, createHash, randomBytes } from 'node:crypto';
import { HttpError } from './errors';
import { apiKeyHash, isPlatform, publicView, type ChannelOptions, type ConnectionRecord, type ConnectionRepository, type NewConnection, type PlatformSettings } from '../store/connections';
import type { ChannelKind } from '../core/events';
import { chatwootWebhookUrl } from './chatwoot-webhook';
import { PLATFORM_API_BASE } from './platform-api';
import { isDuplicateKeyError } from '../store/mongo';

export interface AdminDeps {
  adminApiKey: string;
  publicUrl: string;
  connections: ConnectionRepository;
  onConnectionsChanged(): void;
  onConnectionCreated(conn: ConnectionRecord): Promise<void>;
}

const newConnectionSchema = Joi.object({
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

/** Compares digests so neither the length nor the content of the key leaks through timing. */
function requireAdminKey(key: string): RequestHandler {
  const expected = createHash('sha256').update(key).digest();
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    const digest = createHash('sha256').update(given).digest();
    if (!given || !timingSafeEqual(expected, digest)) throw new HttpError('unauthorized', 'missing or wrong admin API key');
    next();
  };
}

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  router.use('/admin', requireAdminKey(deps.adminApiKey), express.json({ limit: '64kb' }));
  // The webhook URL to paste into the Chatwoot inbox is part of the view; it holds no stored secret.
  const view = (rec: ConnectionRecord): Record<string, unknown> => isPlatform(rec, 'chatwoot')
    ? { ...publicView(rec), chatwootWebhookUrl: chatwootWebhookUrl(deps.publicUrl, rec) }
    : { ...publicView(rec), platformApiUrl: `${deps.publicUrl.replace(/\/+$/, '')}${PLATFORM_API_BASE}` };

  router.post('/admin/connections', async (req, res) => {
    const { value, error } = newConnectionSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid connection', error.details.map((d) => d.message));
    const body = value as NewConnectionBody;
    const issued: IssuedSecrets = {};
    const input: NewConnection = {
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
      await deps.onConnectionCreated(created);
      const shown = view(created);
      res.status(201).json(Object.keys(issued).length > 0 ? { ...shown, platform: { ...shown.platform as object, ...issued } } : shown);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new HttpError('conflict', 'this business id is already connected');
      throw err;
    }
  });

  router.get('/admin/connections', async (_req, res) => {
    res.json({ connections: (await deps.connections.list()).map(view) });
  });

  router.get('/admin/connections/:id', async (req, res) => {
    const found = await deps.connections.findById(req.params.id as string);
    if (!found) throw new HttpError('not_found', 'no such connection');
    res.json(view(found));
  });

  router.delete('/admin/connections/:id', async (req, res) => {
    if (!(await deps.connections.delete(req.params.id as string))) throw new HttpError('not_found', 'no such connection');
    deps.onConnectionsChanged();
    res.status(204).end();
  });
  return router;
}
