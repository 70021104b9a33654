/**
 * Wiring of privacy (issue 9): erasure on demand (connections, tenants, one end user), Meta's Deauthorize and Data
 * Deletion callbacks and WhatsApp's own revocation webhook, the tenant's privacy settings. The composition root adds
 * one call, two routers and four hooks. No I/O here: it only builds objects from what the bridge already has. What
 * is stored where and for how long: PRIVACY.md (generated from src/privacy/inventory.ts and the retention settings).
 */
import type { Router } from 'express';
import type Bull from 'bull';
import type Redis from 'ioredis';
import type { Model } from 'mongoose';
import type { Config } from '../config';
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';
import type { AccessRevokedEvent } from '../core/events';
import type { AccessRevokedOutcome } from '../core/granting-user';
import type { TenantRepository } from '../store/tenants';
import type { AuditLog } from '../store/audit';
import type { DeletionRequestRepository } from '../store/deletion-requests';
import type { PrivacySettingsRepository } from '../store/privacy-settings';
import type { Platform } from '../platforms/platform';
import type { Sealer } from '../queue/sealed';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';
import { RecordEraser, type ErasableStores } from '../core/record-erasure';
import { Eraser } from '../core/erasure';
import { GrantingUserPrivacy } from '../core/granting-user';
import { LaneEraser } from '../queue/lane-eraser';
import { metaPrivacyRouter } from '../http/meta-privacy';
import { privacyAdminRouter } from '../http/admin/privacy';

export interface PrivacyDeps {
  config: Config;
  stores: Omit<ErasableStores, 'sealer'>;
  connections: ConnectionRepository;
  tenants: TenantRepository;
  audit: AuditLog;
  deletionRequests: DeletionRequestRepository;
  settings: PrivacySettingsRepository;
  sealer: Sealer;
  laneRedis: Redis;
  drains: Bull.Queue;
  platformFor(conn: ConnectionRecord): Platform;
  onConnectionsChanged(): void;
  isShuttingDown(): boolean;
  metrics: Metrics;
  log: Logger;
}

export interface Privacy {
  eraser: Eraser;
  /** What a deleted connection leaves behind (its document, with the tokens, is already gone). */
  onConnectionDeleted(conn: ConnectionRecord): Promise<void>;
  /** After a tenant's connections went: its settings and its audit events (see eraseTenantData). */
  eraseTenantData(tenantId: string): Promise<void>;
  /** POST /meta/data-deletion, GET /meta/data-deletion/:code, POST /meta/deauthorize. */
  metaRouter: Router;
  /** WhatsApp's account_update PARTNER_APP_UNINSTALLED / PARTNER_REMOVED: that WABA's connections are disconnected. */
  accessRevoked(event: AccessRevokedEvent): Promise<AccessRevokedOutcome>;
  /** For the admin API's router list (mounted under /admin). */
  adminRouter: Router;
}

export function buildPrivacy(deps: PrivacyDeps): Privacy {
  const { config, log } = deps;
  const eraser = new Eraser({
    records: new RecordEraser({ ...deps.stores, sealer: deps.sealer }),
    queue: new LaneEraser(deps.laneRedis, deps.drains, config.queue.prefix, deps.sealer, { settleMs: config.queue.lockDurationMs }),
    platformFor: deps.platformFor,
    log: log.child({ component: 'erasure' }),
  });
  const granting = new GrantingUserPrivacy({
    appId: config.meta.appId, connections: deps.connections, deletionRequests: deps.deletionRequests, audit: deps.audit, onConnectionsChanged: deps.onConnectionsChanged,
  });
  return {
    eraser,
    onConnectionDeleted: async (conn) => { await eraser.eraseConnection(conn); },
    /**
     * The tenant is gone, so no one may read its audit events any more: they go with it. The deletion itself is
     * then recorded bridge-wide (tenantId null), for the super-admin, with counts only.
     */
    eraseTenantData: async (tenantId) => {
      await deps.settings.delete(tenantId);
      await (deps.audit.model as Model<any>).deleteMany({ tenantId });
    },
    accessRevoked: (event) => granting.accessRevoked(event),
    metaRouter: metaPrivacyRouter({
      appSecret: config.meta.appSecret, publicUrl: config.publicUrl, granting, deletionRequests: deps.deletionRequests,
      isShuttingDown: deps.isShuttingDown, metrics: deps.metrics, log: log.child({ component: 'meta-privacy' }),
    }),
    adminRouter: privacyAdminRouter({ connections: deps.connections, tenants: deps.tenants, settings: deps.settings, audit: deps.audit, eraser }),
  };
}
