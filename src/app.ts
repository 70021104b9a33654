/**
 * Composition root: builds every dependency from the Config and wires them. No I/O happens at import time;
 * start() connects and listens, stop() drains and closes, in that order.
 */
import type { Server } from 'node:http';
import Redis from 'ioredis';
import type { Connection as MongoConnection } from 'mongoose';
import { Readable, type Writable } from 'node:stream';
import type { Config } from './config';
import { createLogger, type Logger } from './log/logger';
import { KeyRing } from './crypto/keyring';
import { Metrics } from './metrics';
import { connectMongo, ensureIndexes, type IndexReport, type ExpiryDeclaration } from './store/mongo';
import { ExpirySweeper } from './store/sweeper';
import { ConnectionRepository, type ConnectionRecord } from './store/connections';
import { InboundKeyRepository } from './store/inbound-keys';
import { DeliveryRepository } from './store/deliveries';
import { ContactLinkRepository } from './store/contact-links';
import { ConversationRecipientRepository } from './store/conversation-recipients';
import { DeadLetterRepository } from './store/dead-letters';
import { GraphClient } from './channels/meta/graph-client';
import { MediaDownloader } from './channels/meta/media';
import { ChannelRegistry } from './channels/channel';
import { whatsappChannel } from './channels/whatsapp';
import { messengerChannel } from './channels/messenger';
import { instagramChannel } from './channels/instagram';
import { SEND_API_RATES, SendApiSender } from './channels/meta/send-api-sender';
import { ProfileResolver } from './core/profiles';
import { ProfileStateRepository } from './store/profiles';
import { ChatwootPlatform } from './platforms/chatwoot';
import { GenericPlatform } from './platforms/generic';
import { GenericPlatformClient } from './platforms/generic/client';
import { MediaLinks } from './platforms/generic/media-links';
import { PlatformRegistry } from './platforms/registry';
import { ConnectionDirectory } from './core/connection-directory';
import { InboundRelay } from './core/relay-inbound';
import { Pipeline } from './queue/pipeline';
import { DeadLetterReplayer } from './queue/dead-letter-replay';
import { Pacer } from './queue/pacer';
import { WhatsAppSender } from './channels/whatsapp/sender';
import { ConversationStateRepository } from './store/conversation-state';
import { HeldStatusRepository } from './store/held-statuses';
import { SendLedger } from './queue/send-ledger';
import { OutboundRelay } from './core/relay-outbound';
import { StatusRelay } from './core/relay-status';
import { chatwootWebhookRouter } from './http/chatwoot-webhook';
import { Sealer } from './queue/sealed';
import { createHttpApp } from './http/server';
import { metaWebhookRouter } from './http/meta-webhook';
import { adminRouter, FailedKeyCounter } from './http/admin';
import { connectionAdminRouter } from './http/admin/connections';
import { tenantAdminRouter } from './http/admin/tenants';
import { auditAdminRouter } from './http/admin/audit';
import { buildTokenLifecycle, type TokenLifecycle } from './tokens';
import { buildOnboarding } from './onboarding';
import { summarizeUnsubscribes, usableTokensLast, type ConnectionDeletion, type ConnectionUnsubscribe } from './onboarding/unsubscribe';
import { deadLetterAdminRouter } from './http/admin/dead-letters';
import { TenantRepository } from './store/tenants';
import { AuditLog } from './store/audit';
import { DeletionRequestRepository } from './store/deletion-requests';
import { PrivacySettingsRepository } from './store/privacy-settings';
import { buildPrivacy, type Privacy } from './privacy';
import { assertKeysOpenStoredSecrets } from './store/sealed-fields';
import { platformApiRouter } from './http/platform-api';
import { buildOpsRouter } from './ops';
import platformApiDocument from '../docs/platform-api.openapi.json';

const DAY_MS = 24 * 3600 * 1000;

/** Requests already inside finish (their events are queued or refused); a client that keeps a socket open is cut after a grace time. */
async function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

export interface BridgeOptions {
  /** Where logs go (tests capture them); stdout by default. */
  logStream?: Writable;
  sweepIntervalMs?: number;
}

export class Bridge {
  readonly log: Logger;
  readonly metrics = new Metrics({ defaultMetrics: true });
  readonly keys: KeyRing;
  private db?: MongoConnection;
  private laneRedis?: Redis;
  private server?: Server;
  private sweeper?: ExpirySweeper;
  private tokens?: TokenLifecycle;
  private shuttingDown = false;
  pipeline?: Pipeline;
  directory?: ConnectionDirectory;
  connections?: ConnectionRepository;
  indexReport?: IndexReport;

  constructor(readonly config: Config, private readonly opts: BridgeOptions = {}) {
    this.log = createLogger({ level: config.log.level, stream: opts.logStream });
    // Refuses to start without valid keys: there is no plaintext fallback.
    this.keys = KeyRing.fromList(config.encryptionKeys);
  }

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : this.config.port;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.db = await connectMongo(config.mongoUri);
    // A wrong ENCRYPTION_KEYS stops start-up here, not at the first send hours later.
    await assertKeysOpenStoredSecrets(this.db, this.keys);
    const connections = new ConnectionRepository(this.db, this.keys);
    const inboundKeys = new InboundKeyRepository(this.db, config.retention.idempotencyDays * DAY_MS, config.queue.claimLeaseMs);
    const deliveries = new DeliveryRepository(this.db, config.retention.deliveryRecordDays * DAY_MS);
    const links = new ContactLinkRepository(this.db, config.retention.customerMappingDays * DAY_MS);
    const recipients = new ConversationRecipientRepository(this.db, this.keys, config.retention.customerMappingDays * DAY_MS);
    const deadLetters = new DeadLetterRepository(this.db, this.keys, config.retention.deadLetterDays * DAY_MS);
    const conversations = new ConversationStateRepository(this.db, config.retention.deliveryRecordDays * DAY_MS);
    const held = new HeldStatusRepository(this.db);
    const profileFetches = new ProfileStateRepository(this.db, 90 * DAY_MS);
    const tenants = new TenantRepository(this.db);
    const audit = new AuditLog(this.db, config.retention.auditDays * DAY_MS);
    const deletionRequests = new DeletionRequestRepository(this.db, config.retention.deletionStatusDays * DAY_MS);
    const privacySettings = new PrivacySettingsRepository(this.db);
    const expiring: ExpiryDeclaration[] = [
      { model: inboundKeys.model, field: 'expiresAt' },
      { model: deliveries.model, field: 'expiresAt' },
      { model: deliveries.platformMessages, field: 'expiresAt' },
      { model: deadLetters.model, field: 'expiresAt' },
      { model: conversations.model, field: 'expiresAt' },
      { model: held.model, field: 'expiresAt' },
      { model: profileFetches.model, field: 'expiresAt' },
      { model: audit.model, field: 'expiresAt' },
      { model: deletionRequests.model, field: 'expiresAt' },
      { model: links.model, field: 'expiresAt' },
      { model: recipients.model, field: 'expiresAt' },
    ];
    this.indexReport = await ensureIndexes(
      [connections.model, inboundKeys.model, deliveries.model, deliveries.platformMessages, links.model, deadLetters.model, conversations.model, held.model, profileFetches.model, recipients.model, tenants.model, audit.model, deletionRequests.model, privacySettings.model], expiring, log);
    // Customer mappings stored before they expired: a full retention from now (see ContactLinkRepository.backfillExpiry).
    const backfilled = (await links.backfillExpiry()) + (await recipients.backfillExpiry());
    if (backfilled > 0) log.info('customer mappings without an expiry given one', { count: backfilled, days: config.retention.customerMappingDays });
    this.sweeper = new ExpirySweeper(expiring, log.child({ component: 'sweeper' }));
    this.sweeper.start(this.opts.sweepIntervalMs ?? 60_000);
    this.connections = connections;

    const graph = new GraphClient({ baseUrl: config.meta.graphBaseUrl, version: config.meta.graphApiVersion,
      onError: (code, retryable) => this.metrics.graphErrors.inc({ api: 'facebook', code, retryable: String(retryable) }) });
    // One set of limits for every file fetched from a URL: size, time, and the extra hosts allowed (src/net/).
    const fileLimits = { maxBytes: config.meta.mediaMaxBytes, timeoutMs: config.meta.mediaTimeoutMs, extraHosts: config.meta.mediaAllowedHosts };
    const media = new MediaDownloader(graph, fileLimits);
    this.laneRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.laneRedis.on('error', (err) => log.warn('redis error', { err }));
    const sender = new WhatsAppSender(graph, fileLimits,
      new Pacer(this.laneRedis, config.queue.prefix, config.outbound.perNumberPerSecond), config.outbound.ffmpegPath);
    // Messenger and Instagram: the Send API on graph.facebook.com, or graph.instagram.com for Instagram-Login tokens.
    const instagramGraph = new GraphClient({ baseUrl: config.meta.instagramGraphBaseUrl, version: config.meta.graphApiVersion,
      onError: (code, retryable) => this.metrics.graphErrors.inc({ api: 'instagram', code, retryable: String(retryable) }) });
    const sendApi = new SendApiSender(fileLimits, {
      all: new Pacer(this.laneRedis, config.queue.prefix, SEND_API_RATES.perSecond),
      audioVideo: new Pacer(this.laneRedis, config.queue.prefix, SEND_API_RATES.mediaPerSecond),
    });
    const channels = new ChannelRegistry([
      whatsappChannel(media, sender),
      messengerChannel({ media, sender: sendApi, facebook: graph }),
      instagramChannel({ media, sender: sendApi, facebook: graph, instagram: instagramGraph }),
    ]);
    const sealer = new Sealer(this.keys);
    const mediaLinks = new MediaLinks(sealer, config.publicUrl, config.generic.mediaLinkTtlS);
    const platforms = new PlatformRegistry([
      new ChatwootPlatform(links, config.chatwoot.requestTimeoutMs,
        (code, retryable) => this.metrics.platformErrors.inc({ platform: 'chatwoot', code, retryable: String(retryable) })),
      new GenericPlatform({
        client: new GenericPlatformClient({ timeoutMs: config.generic.requestTimeoutMs, userAgent: 'meta-crm-bridge',
          onError: (code, retryable) => this.metrics.platformErrors.inc({ platform: 'generic', code, retryable: String(retryable) }) }),
        links,
        recipients,
        mediaLinks,
      }),
    ]);
    const platformFor = (conn: ConnectionRecord) => platforms.forConnection(conn);
    const directory = new ConnectionDirectory(connections);
    this.directory = directory;
    // Meta tokens: inspected and renewed in the background (worker roles), checked or replaced by admins.
    const tokens = buildTokenLifecycle({ config, graph, instagramGraph, connections, audit, redis: this.laneRedis,
      metrics: this.metrics, onConnectionsChanged: () => directory.invalidate(), log: log.child({ component: 'tokens' }) });
    this.tokens = tokens;
    const relay = new InboundRelay({
      keys: inboundKeys,
      deliveries,
      conversations,
      platformFor,
      media: { fetch: (conn, ref) => channels.forKind(conn.channel).fetchMedia(conn, ref) },
      onTokenRefused: async (conn) => {
        if (conn.health !== 'ok' && conn.health !== 'expiring') return;
        await connections.setHealth(conn.id, 'needs_reauth');
        directory.invalidate();
      },
      profiles: new ProfileResolver({
        state: profileFetches,
        fetcher: (conn) => {
          const channel = channels.forKind(conn.channel);
          return channel.fetchProfile ? (customerId) => channel.fetchProfile!(conn, customerId) : undefined;
        },
      }),
    });
    const statuses = new StatusRelay({
      deliveries, held, platformFor,
      describe: (conn, code, title, details) => channels.forKind(conn.channel).outbound.describeStatusError(code, title, details),
    });
    const sendLedger = new SendLedger(this.laneRedis, config.queue.prefix, config.retention.deliveryRecordDays * 86_400_000);
    const outbound = new OutboundRelay({
      keys: inboundKeys, deliveries, conversations, connections, channels, statuses, platformFor,
      // Three quarters of the claim lease (and at least five tries): a send's record is worth waiting for.
      settings: {
        markReadOnReply: config.outbound.markReadOnReply,
        persistWithinMs: Math.floor(config.queue.claimLeaseMs * 0.75),
      },
      sentOnce: {
        ledger: sendLedger,
        // Waiting in place for Meta's status uses a quarter of the lease at most; longer waits go through the queue.
        wait: {
          waitMs: config.queue.unconfirmedSendWaitMs,
          pollMs: Math.min(10_000, Math.floor(config.queue.claimLeaseMs / 4)),
          observe: (outcome) => this.metrics.unansweredSends.inc({ outcome }),
        },
      },
      onReauthNeeded: () => directory.invalidate(),
    });
    // What a deleted connection leaves behind (records, mappings, queued work) is erased by the privacy module,
    // built below once onboarding's inbox bindings exist (they belong to connections too); the Meta edge hands it
    // WhatsApp's revocations. Both are called only once the bridge serves, after it is built.
    let privacy: Privacy | undefined;
    this.pipeline = new Pipeline(
      {
        redisUrl: config.redisUrl,
        prefix: config.queue.prefix,
        attempts: config.queue.attempts,
        lockDurationMs: config.queue.lockDurationMs,
        enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
        backoff: { baseMs: config.queue.backoffBaseMs, maxMs: config.queue.backoffMaxMs },
      },
      {
        channels, directory, relay, outbound, statuses, deadLetters, sealer, metrics: this.metrics, log: log.child({ component: 'queue' }), laneRedis: this.laneRedis, sendLedger,
        onAccessRevoked: (event) => privacy!.accessRevoked(event),
      },
    );
    await this.pipeline.drains.isReady();
    if (config.role !== 'web') this.pipeline.startWorkers(config.queue.inboundConcurrency);
    if (config.role !== 'web') tokens.job.start();

    // Every role listens: web and all serve the edges, a worker serves only /healthz, /readyz and /metrics, so
    // one HEALTHCHECK fits every container of the image.
    const pipeline = this.pipeline;
    const onConnectionDeleted = async (conn: ConnectionRecord): Promise<ConnectionDeletion> => {
      // Meta stops sending first, when this was the last connection on its WABA or Page: with the token still held
      // in memory (the document with it is gone, and the erasure below leaves nothing to read it from).
      const metaUnsubscribe = await onboarding.unsubscriber.afterDelete(conn);
      // Its Chatwoot inbox stops calling (that reads the inbox binding the erasure then removes).
      await onboarding.installer.releaseInbox(conn);
      await privacy!.onConnectionDeleted(conn);
      return { metaUnsubscribe };
    };
    // The Chatwoot connector (install, inbox per connection) and the channel connection page.
    const onboarding = buildOnboarding({
      config, db: this.db, keys: this.keys, graph, sealer, connections, tenants, audit,
      prepareInbox: async (conn) => {
        const { outbound } = channels.forKind(conn.channel);
        const closed = conn.channel === 'whatsapp' ? undefined : outbound.windowClosedReason(conn);
        await platformFor(conn).prepareInbox?.(conn, outbound.replyWindowHoursFor?.(conn) ?? outbound.replyWindowHours, closed);
      },
      onConnectionDeleted, onConnectionsChanged: () => directory.invalidate(), log,
    });
    await ensureIndexes([onboarding.installations.model, onboarding.installations.inboxes], [], log);
    privacy = buildPrivacy({
      config,
      stores: {
        deliveries: deliveries.model, platformMessages: deliveries.platformMessages, inboundKeys: inboundKeys.model, held: held.model,
        conversations: conversations.model, links, recipients, profiles: profileFetches.model, deadLetters: deadLetters.model,
        connectionOwned: [{ model: onboarding.installations.inboxes, field: '_id' }],
      },
      connections, tenants, audit, deletionRequests, settings: privacySettings, sealer, laneRedis: this.laneRedis, drains: pipeline.drains,
      platformFor, onConnectionsChanged: () => directory.invalidate(), isShuttingDown: () => this.shuttingDown, metrics: this.metrics, log,
    });
    const routers = config.role === 'worker' ? [] : [
      onboarding.pagesRouter,
      privacy.metaRouter,
      metaWebhookRouter({
        appSecret: config.meta.appSecret,
        verifyToken: config.meta.verifyToken,
        bodyLimitBytes: config.bodyLimitBytes,
        enqueue: (body, at) => pipeline.enqueueWebhook(body, at),
        isShuttingDown: () => this.shuttingDown,
        metrics: this.metrics,
        log: log.child({ component: 'meta-webhook' }),
      }),
      chatwootWebhookRouter({
        connectionById: (id) => directory.byId(id),
        parse: (conn, body) => platforms.forKind('chatwoot').parseRequest(conn, body),
        enqueue: (connectionId, command, commandId, at) => pipeline.enqueueCommand(connectionId, command, commandId, at),
        deliverySeen: (id) => pipeline.deliverySeen(id),
        rememberDelivery: (id) => pipeline.rememberDelivery(id),
        isShuttingDown: () => this.shuttingDown,
        metrics: this.metrics,
        log: log.child({ component: 'chatwoot-webhook' }),
      }),
      platformApiRouter({
        connectionByApiKey: (key) => connections.findByApiKey(key),
        connectionById: (id) => directory.byId(id),
        parse: (conn, body) => platforms.forKind('generic').parseRequest(conn, body),
        enqueue: (connectionId, command, commandId, at) => pipeline.enqueueCommand(connectionId, command, commandId, at),
        mediaLinks,
        openMedia: async (conn, ref) => {
          const channel = channels.forKind(conn.channel);
          if (channel.openMedia) return channel.openMedia(conn, ref);
          const file = await channel.fetchMedia(conn, ref);
          return { stream: Readable.from([file.bytes]), mimeType: file.mimeType, filename: file.filename, length: file.bytes.length };
        },
        openapi: { ...platformApiDocument, servers: [{ url: config.publicUrl, description: 'this bridge' }] },
        isShuttingDown: () => this.shuttingDown,
        metrics: this.metrics,
        log: log.child({ component: 'platform-api' }),
      }),
      adminRouter(
        {
          superAdminKey: config.adminApiKey,
          tenantByApiKey: (key) => tenants.findByApiKey(key),
          failures: new FailedKeyCounter(this.laneRedis, config.queue.prefix, config.admin.failedKeyLimit),
        },
        [
          tenantAdminRouter({
            tenants, audit,
            eraseTenantConnections: async (tenantId) => {
              const owned = await connections.list({ tenantId });
              const metaUnsubscribe: ConnectionUnsubscribe[] = [];
              // The tenant's Chatwoot installations go first (webhooks cleared where Chatwoot answers, admin tokens
              // erased, the connections they served with them); then every other connection. One by one, so the last
              // to go of a WABA's or Page's connections unsubscribes the app at Meta (see src/onboarding/unsubscribe.ts).
              for (const inst of await onboarding.installations.list({ tenantId })) {
                metaUnsubscribe.push(...(await onboarding.installer.uninstall(inst, { force: true })).metaUnsubscribe);
              }
              for (const conn of usableTokensLast(await connections.list({ tenantId }), (c) => c)) {
                if (!(await connections.delete(conn.id))) continue;
                metaUnsubscribe.push({ connectionId: conn.id, ...(await onConnectionDeleted(conn)).metaUnsubscribe });
              }
              await privacy!.eraseTenantData(tenantId);
              directory.invalidate();
              return { connections: owned.length, metaUnsubscribe, summary: summarizeUnsubscribes(metaUnsubscribe) };
            },
          }),
          connectionAdminRouter({
            connections, tenants, audit, publicUrl: config.publicUrl,
            onConnectionsChanged: () => directory.invalidate(),
            onConnectionCreated: async (conn) => {
              const { outbound } = channels.forKind(conn.channel);
              // WhatsApp keeps the platform's own wording (templates); Messenger and Instagram say what they allow.
              const closed = conn.channel === 'whatsapp' ? undefined : outbound.windowClosedReason(conn);
              await platformFor(conn).prepareInbox?.(conn, outbound.replyWindowHoursFor?.(conn) ?? outbound.replyWindowHours, closed)
                .catch((err: unknown) => log.warn('could not set the inbox reply window (needs an admin token)', { reason: (err as Error).message }));
              // A token pasted in is inspected at once, so a short-lived user token is exchanged before it lapses.
              if (tokens.checker.canCheck(conn)) {
                await tokens.checker.check(conn, 'admin').catch((err: unknown) => log.warn('could not check the new token', { reason: (err as Error).message }));
              }
            },
            onConnectionDeleted,
          }),
          auditAdminRouter(audit),
          privacy.adminRouter,
          tokens.adminRouter,
          onboarding.adminRouter,
          deadLetterAdminRouter({
            deadLetters, connections, audit, metrics: this.metrics,
            replayer: new DeadLetterReplayer({
              deadLetters, relay, outbound,
              connectionById: (id) => connections.findById(id),
              requeue: (payload, eventId) => pipeline.requeue(payload, eventId),
              deliveryRecordMs: config.retention.deliveryRecordDays * DAY_MS,
            }),
          }),
        ],
      ),
    ];
    // /readyz and /metrics in every role, mounted first so no edge route can shadow them.
    const ops = buildOpsRouter({
      db: this.db, laneRedis: this.laneRedis, drains: pipeline.drains, queuePrefix: config.queue.prefix,
      connections: connections.model, deadLetters: deadLetters.model, registry: this.metrics.registry,
      access: config.metrics, isShuttingDown: () => this.shuttingDown, log: log.child({ component: 'ops' }),
    });
    const app = createHttpApp([ops, ...routers], log.child({ component: 'http' }));
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve()));
    });
    this.server!.keepAliveTimeout = 65_000;
    log.info('bridge started', { role: config.role, port: this.port, graphApiVersion: config.meta.graphApiVersion, ttl: this.indexReport.ttl,
      // Without META_APP_ID, Facebook tokens are never inspected or renewed (Instagram-Login tokens still are).
      tokenInspection: Boolean(config.meta.appId) });
  }

  /**
   * Graceful stop (SIGTERM): from now on the edges answer 503 (senders deliver again, to another process); the
   * server keeps listening meanwhile, so they hear it instead of a refused connection. The workers finish the
   * event in hand and hand their lanes back, within SHUTDOWN_DRAIN_MS; then the server, queue and stores close.
   */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    const workers = await this.pipeline?.stopWorkers(this.config.shutdown.drainMs);
    if (this.server) await closeServer(this.server);
    await this.pipeline?.close();
    await this.tokens?.job.stop();
    await this.sweeper?.stop();
    this.laneRedis?.disconnect();
    await this.db?.close();
    this.log.info('bridge stopped', { workers });
  }
}
