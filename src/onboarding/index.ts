/**
 * Wiring of onboarding (the Chatwoot connector and the connection page), so the composition root adds one call
 * and two routers. No I/O here: it only builds objects from what the bridge already has.
 */
import type { Router } from 'express';
import type { Connection as MongoConnection } from 'mongoose';
import type { Config } from '../config';
import type { KeyRing } from '../crypto/keyring';
import type { GraphClient } from '../channels/meta/graph-client';
import type { Sealer } from '../queue/sealed';
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';
import type { TenantRepository } from '../store/tenants';
import type { AuditLog } from '../store/audit';
import type { Logger } from '../log/logger';
import { ChatwootInstallationRepository } from '../store/chatwoot-installations';
import { connectorAdminRouter } from '../http/admin/connector';
import { connectPagesRouter } from '../http/connect-pages';
import { ChatwootInstaller } from './chatwoot-installer';
import { ConnectTokens } from './connect-links';
import { MetaOAuth } from './meta-oauth';
import { completeEmbeddedSignup } from './embedded-signup';
import { authorizePages, connectPages } from './page-connect';
import { OnboardingError } from './errors';
import { MetaUnsubscriber, type ConnectionDeletion } from './unsubscribe';

export interface OnboardingDeps {
  config: Config;
  db: MongoConnection;
  keys: KeyRing;
  graph: GraphClient;
  sealer: Sealer;
  connections: ConnectionRepository;
  tenants: TenantRepository;
  audit: AuditLog;
  /** Sets the inbox's reply window for the connection's channel. */
  prepareInbox(conn: ConnectionRecord<'chatwoot'>): Promise<void>;
  /** What DELETE /admin/connections/:id does after the record is gone. */
  onConnectionDeleted(conn: ConnectionRecord): Promise<ConnectionDeletion>;
  onConnectionsChanged(): void;
  log: Logger;
}

export interface Onboarding {
  installations: ChatwootInstallationRepository;
  installer: ChatwootInstaller;
  /** The reverse of subscribing the app to a WABA or Page: done when the last connection using it is deleted. */
  unsubscriber: MetaUnsubscriber;
  /** For the admin API's router list (mounted under /admin). */
  adminRouter: Router;
  /** The public connection page. */
  pagesRouter: Router;
}

export function buildOnboarding(deps: OnboardingDeps): Onboarding {
  const { config, log } = deps;
  const installations = new ChatwootInstallationRepository(deps.db, deps.keys);
  const installer = new ChatwootInstaller({
    publicUrl: config.publicUrl,
    timeoutMs: config.chatwoot.requestTimeoutMs,
    installations,
    connections: deps.connections,
    prepareInbox: deps.prepareInbox,
    deleteConnection: deps.onConnectionDeleted,
    onConnectionsChanged: deps.onConnectionsChanged,
    log: log.child({ component: 'chatwoot-installer' }),
  });
  const tokens = new ConnectTokens(deps.sealer, config.connect.linkTtlS);
  const appId = config.meta.appId;
  const oauth = appId ? new MetaOAuth(deps.graph, { id: appId, secret: config.meta.appSecret }) : undefined;
  const needsApp = (): MetaOAuth => {
    if (!oauth) throw new OnboardingError('not_configured', 'This bridge has no META_APP_ID configured, so it cannot exchange Facebook login codes.', 'invalid_request');
    return oauth;
  };
  const flows = {
    whatsapp: Boolean(appId && config.meta.embeddedSignupConfigId),
    pages: Boolean(appId && config.meta.pagesConfigId),
  };

  const adminRouter = connectorAdminRouter({
    publicUrl: config.publicUrl, installations, installer, connections: deps.connections, tenants: deps.tenants, audit: deps.audit,
    connectTokens: tokens, connectFlows: flows, log: log.child({ component: 'connector-admin' }),
  });
  const pagesRouter = connectPagesRouter({
    publicUrl: config.publicUrl,
    graphVersion: config.meta.graphApiVersion,
    appId,
    embeddedSignupConfigId: config.meta.embeddedSignupConfigId,
    pagesConfigId: config.meta.pagesConfigId,
    sdkUrl: config.connect.sdkUrl,
    tokens,
    installations,
    tenants: deps.tenants,
    audit: deps.audit,
    signup: (inst, session) => completeEmbeddedSignup({ graph: deps.graph, oauth: needsApp(), installer, appSecret: config.meta.appSecret }, inst, session),
    authorizePages: (tenantId, code) => authorizePages({ graph: deps.graph, oauth: needsApp(), installer, tokens }, tenantId, code),
    connectPages: (inst, grant, choices) => connectPages({ graph: deps.graph, oauth: needsApp(), installer, tokens }, inst, grant, choices),
    log: log.child({ component: 'connect-page' }),
  });
  const unsubscriber = new MetaUnsubscriber({ graph: deps.graph, connections: deps.connections, log: log.child({ component: 'meta-unsubscribe' }) });
  return { installations, installer, unsubscriber, adminRouter, pagesRouter };
}
