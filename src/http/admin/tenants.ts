/**
 * Admin API, tenants. Only the super-admin creates, lists and deletes tenants; a tenant may read itself and
 * replace its own key. Any other tenant id answers 404, exactly like one that does not exist.
 */
import { Router } from 'express';
import Joi from 'joi';
import { HttpError } from '../errors';
import type { TenantRecord, TenantRepository } from '../../store/tenants';
import type { AuditLog } from '../../store/audit';
import type { ConnectionUnsubscribe } from '../../onboarding/unsubscribe';
import { actorOf, callerOf, superAdminOnly, type Caller } from './auth';

export interface TenantAdminDeps {
  tenants: TenantRepository;
  audit: AuditLog;
  /**
   * Erases every connection of the tenant and everything they hold: how many connections went, and for each whether
   * the app was unsubscribed at Meta (with `summary`, the final outcome per WABA / Page, for the audit event).
   */
  eraseTenantConnections(tenantId: string): Promise<{ connections: number; metaUnsubscribe: ConnectionUnsubscribe[]; summary: string }>;
}

const newTenantSchema = Joi.object({ name: Joi.string().trim().min(1).max(200).required() });

function view(t: TenantRecord): Record<string, unknown> {
  return { id: t.id, name: t.name, createdAt: t.createdAt.toISOString() };
}

/** The tenant itself or the super-admin; anyone else learns nothing. */
function mayManage(caller: Caller, tenantId: string): boolean {
  return caller.kind === 'super' || caller.tenant.id === tenantId;
}

export function tenantAdminRouter(deps: TenantAdminDeps): Router {
  const router = Router();

  router.post('/tenants', superAdminOnly, async (req, res) => {
    const { value, error } = newTenantSchema.validate(req.body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'invalid tenant', error.details.map((d) => d.message));
    const { tenant, apiKey } = await deps.tenants.create((value as { name: string }).name);
    await deps.audit.record({ tenantId: tenant.id, actor: actorOf(callerOf(res)), action: 'tenant.create', target: { type: 'tenant', id: tenant.id } });
    // The key is in this response only; the bridge keeps its hash.
    res.status(201).json({ ...view(tenant), apiKey });
  });

  router.get('/tenants', superAdminOnly, async (_req, res) => {
    res.json({ tenants: (await deps.tenants.list()).map(view) });
  });

  router.get('/tenant', (_req, res) => {
    const caller = callerOf(res);
    if (caller.kind !== 'tenant') throw new HttpError('not_found', 'the super-admin key belongs to no tenant');
    res.json(view(caller.tenant));
  });

  router.get('/tenants/:id', async (req, res) => {
    const id = req.params.id as string;
    const found = mayManage(callerOf(res), id) ? await deps.tenants.findById(id) : null;
    if (!found) throw new HttpError('not_found', 'no such tenant');
    res.json(view(found));
  });

  router.post('/tenants/:id/api-key', async (req, res) => {
    const caller = callerOf(res);
    const id = req.params.id as string;
    const apiKey = mayManage(caller, id) ? await deps.tenants.rotateKey(id) : null;
    if (!apiKey) throw new HttpError('not_found', 'no such tenant');
    await deps.audit.record({ tenantId: id, actor: actorOf(caller), action: 'tenant.rotate_key', target: { type: 'tenant', id } });
    res.json({ id, apiKey });
  });

  router.delete('/tenants/:id', superAdminOnly, async (req, res) => {
    const id = req.params.id as string;
    if (!(await deps.tenants.findById(id))) throw new HttpError('not_found', 'no such tenant');
    // Connections first: if this stops midway, the tenant (and the way to retry the delete) still exists.
    const erased = await deps.eraseTenantConnections(id);
    await deps.tenants.delete(id);
    // Bridge-wide (tenantId null): the tenant's own events went with it, and no tenant is left to read this one.
    await deps.audit.record({ tenantId: null, actor: actorOf(callerOf(res)), action: 'tenant.delete', target: { type: 'tenant', id },
      details: { connections: erased.connections, ...(erased.summary ? { metaUnsubscribe: erased.summary } : {}) } });
    // Where Meta could not be told to stop sending (metaUnsubscribe[].action), the operator removes the app by hand.
    res.json({ id, deleted: true, connections: erased.connections, metaUnsubscribe: erased.metaUnsubscribe });
  });

  return router;
}
