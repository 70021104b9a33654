/**
 * The admin API under /admin: one authentication step (super-admin or tenant key, failed keys rate-limited),
 * one JSON parser, then one router per concern. Each router reads the caller with callerOf(res) and scopes
 * every query to it.
 */
import { Router } from 'express';
import { requireAdminCaller, type AdminAuthDeps } from './auth';
import { jsonBody } from '../json-body';

export { callerOf, scopeOf, actorOf, superAdminOnly, FailedKeyCounter, type Caller } from './auth';

export function adminRouter(auth: AdminAuthDeps, routers: Router[]): Router {
  const router = Router();
  const inner = Router();
  for (const r of routers) inner.use(r);
  router.use('/admin', requireAdminCaller(auth), ...jsonBody({ limit: '64kb' }), inner);
  return router;
}
