/**
 * Admin API, privacy:
 *   POST /admin/erasure                  erase one end user of a connection (by phone number, PSID, IGSID or BSUID)
 *   GET  /admin/tenants/:id/privacy      the tenant's privacy settings
 *   PUT  /admin/tenants/:id/privacy      change them ({ eraseContactsOnPlatform })
 * Inside the caller's tenant like every admin route: another tenant's connection or settings answer 404. Answers
 * and audit events carry counts and outcomes, never the id that was erased.
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import type { ConnectionRepository } from '../../store/connections';
import type { TenantRepository } from '../../store/tenants';
import type { AuditLog } from '../../store/audit';
import type { PrivacySettings, PrivacySettingsRepository } from '../../store/privacy-settings';
import { total, type CustomerErasureReport, type Eraser } from '../../core/erasure';
import { actorOf, callerOf, scopeOf, type Caller } from './auth';

export interface PrivacyAdminDeps {
  connections: ConnectionRepository;
  tenants: TenantRepository;
  settings: PrivacySettingsRepository;
  audit: AuditLog;
  eraser: Eraser;
}

const erasureSchema = Joi.object({
  connectionId: Joi.string().max(64).required(),
  customerId: Joi.string().trim().min(3).max(200).pattern(/^[A-Za-z0-9.+()\s_-]+$/, 'phone number, PSID, IGSID or BSUID').required()
    .description('phone number (any format), PSID, IGSID or BSUID'),
  eraseContact: Joi.boolean().description("also erase the platform contact; default: the tenant's eraseContactsOnPlatform"),
});

const settingsSchema = Joi.object({ eraseContactsOnPlatform: Joi.boolean().required() });

function reportView(r: CustomerErasureReport): Record<string, unknown> {
  return {
    records: { total: total(r.removed), byCollection: r.removed },
    queue: r.queue,
    idsFound: r.idsFound,
    conversationsFound: r.conversationsFound,
    platform: r.platform,
  };
}

export function privacyAdminRouter(deps: PrivacyAdminDeps): Router {
  const router = Router();

  router.post('/erasure', async (req, res) => {
    const caller = callerOf(res);
    const { value, error } = erasureSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid erasure', error.details.map((d) => d.message));
    const body = value as { connectionId: string; customerId: string; eraseContact?: boolean };
    const conn = await deps.connections.findById(body.connectionId, scopeOf(caller));
    if (!conn) throw new HttpError('not_found', 'no such connection');
    const eraseContact = body.eraseContact ?? (await deps.settings.get(conn.tenantId)).eraseContactsOnPlatform;
    const report = await deps.eraser.eraseCustomer(conn, body.customerId, { eraseContact });
    await deps.audit.record({
      tenantId: conn.tenantId, actor: actorOf(caller), action: 'customer.erase', target: { type: 'connection', id: conn.id },
      details: {
        records: total(report.removed), queued: report.queue.entries, idsFound: report.idsFound,
        conversationsFound: report.conversationsFound, platform: report.platform.outcome,
      },
    });
    res.json(reportView(report));
  });

  /** The tenant itself or the super-admin; any other tenant id answers 404, like one that does not exist. */
  const tenantOf = async (caller: Caller, id: string): Promise<string> => {
    const found = caller.kind === 'super' || caller.tenant.id === id ? await deps.tenants.findById(id) : null;
    if (!found) throw new HttpError('not_found', 'no such tenant');
    return found.id;
  };

  router.get('/tenants/:id/privacy', async (req, res) => {
    const tenantId = await tenantOf(callerOf(res), req.params.id as string);
    res.json(await deps.settings.get(tenantId));
  });

  router.put('/tenants/:id/privacy', async (req, res) => {
    const caller = callerOf(res);
    const tenantId = await tenantOf(caller, req.params.id as string);
    const { value, error } = settingsSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid privacy settings', error.details.map((d) => d.message));
    const saved = await deps.settings.set(tenantId, value as PrivacySettings);
    await deps.audit.record({ tenantId, actor: actorOf(caller), action: 'tenant.privacy_update', target: { type: 'tenant', id: tenantId }, details: { ...saved } });
    res.json(saved);
  });

  return router;
}
