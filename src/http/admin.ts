/**
 * The admin API (Authorization: Bearer <ADMIN_API_KEY>): create, list, read and delete connections. Secrets go in,
 * never come out.
 */
import express, { Router, type RequestHandler } from 'express';
import Joi from 'joi';
import { timingSafeEqual, createHash } from 'node:crypto';
import { HttpError } from './errors';
import { publicView, type ConnectionRecord, type ConnectionRepository, type NewConnection } from '../store/connections';
import { chatwootWebhookUrl } from './chatwoot-webhook';
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
  channel: Joi.string().valid('whatsapp').required(),
  businessId: Joi.string().pattern(/^\d{5,30}$/).required().description('phone_number_id'),
  wabaId: Joi.string().pattern(/^\d{5,30}$/),
  metaAccessToken: Joi.string().min(10).max(4096).required(),
  platform: Joi.object({
    kind: Joi.string().valid('chatwoot').required(),
    baseUrl: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
    accountId: Joi.number().integer().min(1).required(),
    inboxId: Joi.number().integer().min(1).required(),
    apiAccessToken: Joi.string().min(8).max(512).required(),
    webhookSecret: Joi.string().min(8).max(512),
  }).required(),
});

interface NewConnectionBody {
  name: string;
  channel: 'whatsapp';
  businessId: string;
  wabaId?: string;
  metaAccessToken: string;
  platform: { kind: 'chatwoot'; baseUrl: string; accountId: number; inboxId: number; apiAccessToken: string; webhookSecret?: string };
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
  const view = (rec: ConnectionRecord) => ({ ...publicView(rec), chatwootWebhookUrl: chatwootWebhookUrl(deps.publicUrl, rec) });

  router.post('/admin/connections', async (req, res) => {
    const { value, error } = newConnectionSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid connection', error.details.map((d) => d.message));
    const body = value as NewConnectionBody;
    const input: NewConnection = {
      name: body.name,
      channel: body.channel,
      businessId: body.businessId,
      wabaId: body.wabaId,
      metaToken: body.metaAccessToken,
      platform: {
        kind: 'chatwoot', baseUrl: body.platform.baseUrl, accountId: body.platform.accountId, inboxId: body.platform.inboxId,
        apiToken: body.platform.apiAccessToken, webhookSecret: body.platform.webhookSecret,
      },
    };
    try {
      const created = await deps.connections.create(input);
      deps.onConnectionsChanged();
      await deps.onConnectionCreated(created);
      res.status(201).json(view(created));
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
