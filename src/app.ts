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
import { Pacer } from './queue/pacer';
import { WhatsAppSender } from './channels/whatsapp/sender';
import { ConversationStateRepository } from './store/conversation-state';
import { HeldStatusRepository } from './store/held-statuses';
import { OutboundRelay } from './core/relay-outbound';
import { StatusRelay } from './core/relay-status';
import { chatwootWebhookRouter } from './http/chatwoot-webhook';
import { Sealer } from './queue/sealed';
import { createHttpApp } from './http/server';
import { metaWebhookRouter } from './http/meta-webhook';
import { adminRouter } from './http/admin';
import { platformApiRouter } from './http/platform-api';
import platformApiDocument from '../docs/platform-api.openapi.json';

const DAY_MS = 24 * 3600 * 1000;

export interface BridgeOptions {
  /** Where logs go (tests capture them); stdout by default. */
  logStream?: Writable;
  sweepIntervalMs?: number;
}

export class Bridge {
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly keys: KeyRing;
  private db?: MongoConnection;
  private laneRedis?: Redis;
  private server?: Server;
  private sweeper?: ExpirySweeper;
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
    const connections = new ConnectionRepository(this.db, this.keys);
    const inboundKeys = new InboundKeyRepository(this.db, config.retention.idempotencyDays * DAY_MS);
    const deliveries = new DeliveryRepository(this.db, config.retention.deliveryRecordDays * DAY_MS);
    const links = new ContactLinkRepository(this.db);
    const recipients = new ConversationRecipientRepository(this.db, this.keys);
    const deadLetters = new DeadLetterRepository(this.db, 14 * DAY_MS);
    const conversations = new ConversationStateRepository(this.db, config.retention.deliveryRecordDays * DAY_MS);
    const held = new HeldStatusRepository(this.db);
    const profileFetches = new ProfileStateRepository(this.db, 90 * DAY_MS);
    const expiring: ExpiryDeclaration[] = [
      { model: inboundKeys.model, field: 'expiresAt' },
      { model: deliveries.model, field: 'expiresAt' },
      { model: deliveries.platformMessages, field: 'expiresAt' },
      { model: deadLetters.model, field: 'expiresAt' },
      { model: conversations.model, field: 'expiresAt' },
      { model: held.model, field: 'expiresAt' },
      { model: profileFetches.model, field: 'expiresAt' },
    ];
    this.indexReport = await ensureIndexes(
      [connections.model, inboundKeys.model, deliveries.model, deliveries.platformMessages, links.model, deadLetters.model, conversations.model, held.model, profileFetches.model, recipients.model], expiring, log);
    this.sweeper = new ExpirySweeper(expiring, log.child({ component: 'sweeper' }));
    this.sweeper.start(this.opts.sweepIntervalMs ?? 60_000);
    this.connections = connections;

    const graph = new GraphClient({ baseUrl: config.meta.graphBaseUrl, version: config.meta.graphApiVersion });
    const media = new MediaDownloader(graph, { maxBytes: config.meta.mediaMaxBytes, timeoutMs: config.meta.mediaTimeoutMs });
    this.laneRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.laneRedis.on('error', (err) => log.warn('redis error', { err }));
    const sender = new WhatsAppSender(graph, { maxBytes: config.meta.mediaMaxBytes, timeoutMs: config.meta.mediaTimeoutMs },
      new Pacer(this.laneRedis, config.queue.prefix, config.outbound.perNumberPerSecond), config.outbound.ffmpegPath);
    // Messenger and Instagram: the Send API on graph.facebook.com, or graph.instagram.com for Instagram-Login tokens.
    const instagramGraph = new GraphClient({ baseUrl: config.meta.instagramGraphBaseUrl, version: config.meta.graphApiVersion });
    const sendApi = new SendApiSender({ maxBytes: config.meta.mediaMaxBytes, timeoutMs: config.meta.mediaTimeoutMs }, {
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
      new ChatwootPlatform(links, config.chatwoot.requestTimeoutMs),
      new GenericPlatform({
        client: new GenericPlatformClient({ timeoutMs: config.generic.requestTimeoutMs, userAgent: 'meta-crm-bridge' }),
        links,
        recipients,
        mediaLinks,
      }),
    ]);
    const platformFor = (conn: ConnectionRecord) => platforms.forConnection(conn);
    const directory = new ConnectionDirectory(connections);
    this.directory = directory;
    const relay = new InboundRelay({
      keys: inboundKeys,
      deliveries,
      conversations,
      platformFor,
      media: { fetch: (conn, ref) => channels.forKind(conn.channel).fetchMedia(conn, ref) },
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
    const outbound = new OutboundRelay({
      keys: inboundKeys, deliveries, conversations, connections, channels, statuses, platformFor,
      settings: { markReadOnReply: config.outbound.markReadOnReply },
      onReauthNeeded: () => directory.invalidate(),
    });
    this.pipeline = new Pipeline(
      {
        redisUrl: config.redisUrl,
        prefix: config.queue.prefix,
        attempts: config.queue.attempts,
        lockDurationMs: config.queue.lockDurationMs,
        enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
        backoff: { baseMs: config.queue.backoffBaseMs, maxMs: config.queue.backoffMaxMs },
      },
      { channels, directory, relay, outbound, statuses, deadLetters, sealer, metrics: this.metrics, log: log.child({ component: 'queue' }), laneRedis: this.laneRedis },
    );
    await this.pipeline.drains.isReady();
    if (config.role !== 'web') this.pipeline.startWorkers(config.queue.inboundConcurrency);

    // Every role listens: web and all serve the edges, a worker serves only /healthz (and metrics), so one
    // HEALTHCHECK fits every container of the image.
    const pipeline = this.pipeline;
    const routers = config.role === 'worker' ? [] : [
      metaWebhookRouter({
        appSecret: config.meta.appSecret,
        verifyToken: config.meta.verifyToken,
        bodyLimitBytes: config.bodyLimitBytes,
        enqueue: (raw, at) => pipeline.enqueueWebhook(raw, at),
        isShuttingDown: () => this.shuttingDown,
        metrics: this.metrics,
        log: log.child({ component: 'meta-webhook' }),
      }),
      chatwootWebhookRouter({
        connectionById: (id) => directory.byId(id),
        parse: (conn, body) => platforms.forKind('chatwoot').parseRequest(conn, body),
        enqueue: (connectionId, command, commandId, at) => pipeline.enqueueCommand(connectionId, command, commandId, at),
        firstDelivery: (id) => pipeline.firstDelivery(id),
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
      adminRouter({
        adminApiKey: config.adminApiKey, connections, publicUrl: config.publicUrl,
        onConnectionsChanged: () => directory.invalidate(),
        onConnectionCreated: async (conn) => {
          const { outbound } = channels.forKind(conn.channel);
          // WhatsApp keeps the platform's own wording (templates); Messenger and Instagram say what they allow.
          const closed = conn.channel === 'whatsapp' ? undefined : outbound.windowClosedReason(conn);
          await platformFor(conn).prepareInbox?.(conn, outbound.replyWindowHoursFor?.(conn) ?? outbound.replyWindowHours, closed)
            .catch((err: unknown) => log.warn('could not set the inbox reply window (needs an admin token)', { reason: (err as Error).message }));
        },
      }),
    ];
    const app = createHttpApp(routers, log.child({ component: 'http' }));
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve()));
    });
    this.server!.keepAliveTimeout = 65_000;
    log.info('bridge started', { role: config.role, port: this.port, graphApiVersion: config.meta.graphApiVersion, ttl: this.indexReport.ttl });
  }

  /** Stop taking webhooks (503), let in-flight jobs finish, close connections. */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    if (this.server) await new Promise<void>((resolve) => { this.server!.close(() => resolve()); this.server!.closeIdleConnections(); });
    await this.pipeline?.close();
    await this.sweeper?.stop();
    this.laneRedis?.disconnect();
    await this.db?.close();
    this.log.info('bridge stopped');
  }
}
