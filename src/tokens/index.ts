/**
 * The token lifecycle, wired: inspector (debug_token, exchanges), checker (one connection), the background job
 * (every connection, one process at a time) and the admin routes. Built by the composition root; the job runs in
 * worker and all roles only, like every other background work.
 */
import type Redis from 'ioredis';
import type { Router } from 'express';
import type { Config } from '../config';
import type { GraphClient } from '../channels/meta/graph-client';
import type { ConnectionRepository } from '../store/connections';
import type { AuditLog } from '../store/audit';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';
import { connectionTokenAdminRouter } from '../http/admin/connection-tokens';
import { TokenInspector, refreshInstagramLoginToken } from './token-inspector';
import { TokenChecker } from './token-checker';
import { TokenRenewalJob } from './token-renewal-job';

export { TokenInspector, exchangeForLongLived, refreshInstagramLoginToken, factsFromDebugToken } from './token-inspector';
export type { TokenFacts, IssuedToken, MetaAppCredentials } from './token-inspector';
export { TokenChecker } from './token-checker';
export type { CheckResult, CheckOutcome } from './token-checker';

export interface TokenLifecycle {
  inspector?: TokenInspector;
  checker: TokenChecker;
  job: TokenRenewalJob;
  adminRouter: Router;
}

export function buildTokenLifecycle(deps: {
  config: Config;
  graph: GraphClient;
  instagramGraph: GraphClient;
  connections: ConnectionRepository;
  audit: AuditLog;
  redis: Redis;
  metrics: Metrics;
  onConnectionsChanged: () => void;
  log: Logger;
}): TokenLifecycle {
  const { config, log } = deps;
  const appId = config.meta.appId;
  const inspector = appId ? new TokenInspector(deps.graph, { id: appId, secret: config.meta.appSecret }, deps.instagramGraph) : undefined;
  const checker = new TokenChecker({
    connections: deps.connections,
    inspector,
    refreshInstagramLogin: (token) => refreshInstagramLoginToken(deps.instagramGraph, token),
    renewBeforeDays: config.tokens.renewBeforeDays,
    onChanged: () => deps.onConnectionsChanged(),
    onOutcome: (outcome, trigger) => deps.metrics.tokenChecks.inc({ outcome, trigger }),
    log,
  });
  const job = new TokenRenewalJob({
    checker, connections: deps.connections, redis: deps.redis, prefix: config.queue.prefix,
    intervalMs: config.tokens.checkIntervalS * 1000, log,
  });
  const adminRouter = connectionTokenAdminRouter({
    connections: deps.connections, audit: deps.audit, checker, inspector, onConnectionsChanged: deps.onConnectionsChanged,
  });
  return { inspector, checker, job, adminRouter };
}
