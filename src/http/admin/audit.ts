/**
 * Admin API, audit events: latest first, the caller's tenant only (the super-admin sees all).
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import type { AuditLog } from '../../store/audit';
import { callerOf, scopeOf } from './auth';

const querySchema = Joi.object({
  action: Joi.string().pattern(/^[a-z_.]+$/).max(64),
  since: Joi.date().iso(),
  limit: Joi.number().integer().min(1).max(1000).default(100),
});

export function auditAdminRouter(audit: AuditLog): Router {
  const router = Router();
  router.get('/audit', async (req, res) => {
    const { value, error } = querySchema.validate(req.query, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid audit query', error.details.map((d) => d.message));
    const q = value as { action?: string; since?: Date; limit: number };
    const events = await audit.list(scopeOf(callerOf(res)), q);
    res.json({ events: events.map((e) => ({ ...e, at: e.at.toISOString() })) });
  });
  return router;
}
