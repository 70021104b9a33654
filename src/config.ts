/**
 * The one place that reads settings. A joi schema over config/default.json overlaid by the environment, validated
 * once at start-up: a bad or missing setting stops the process with one line naming it. Nothing else in the code
 * reads process.env; everything else receives a frozen Config.
 */
import Joi from 'joi';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { HOST_ENTRY } from './net/host-rules';

export interface Config {
  role: 'web' | 'worker' | 'all';
  port: number;
  host: string;
  publicUrl: string;
  bodyLimitBytes: number;
  meta: {
    appSecret: string;
    verifyToken: string;
    /** META_APP_ID: the code exchange and the connection page's Facebook SDK need it; unset, those flows are off. */
    appId?: string;
    /** Facebook Login for Business configuration of WhatsApp Embedded Signup (META_CONFIG_ID). */
    embeddedSignupConfigId?: string;
    /** Facebook Login for Business configuration for Pages and Instagram (META_PAGES_CONFIG_ID). */
    pagesConfigId?: string;
    graphApiVersion: string;
    graphBaseUrl: string;
    instagramGraphBaseUrl: string;
    mediaMaxBytes: number;
    mediaTimeoutMs: number;
    /** MEDIA_ALLOWED_HOSTS: host rules (src/net/host-rules.ts) media and attachments may also come from. */
    mediaAllowedHosts: string[];
  };
  redisUrl: string;
  mongoUri: string;
  adminApiKey: string;
  encryptionKeys: string[];
  queue: {
    prefix: string;
    inboundConcurrency: number;
    attempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    enqueueTimeoutMs: number;
    lockDurationMs: number;
    claimLeaseMs: number;
    unconfirmedSendWaitMs: number;
  };
  shutdown: {
    drainMs: number;
  };
  retention: {
    deliveryRecordDays: number;
    idempotencyDays: number;
    auditDays: number;
    deadLetterDays: number;
    deletionStatusDays: number;
    customerMappingDays: number;
  };
  admin: {
    failedKeyLimit: { maxFailures: number; windowS: number };
  };
  chatwoot: {
    requestTimeoutMs: number;
  };
  generic: {
    requestTimeoutMs: number;
    mediaLinkTtlS: number;
  };
  outbound: {
    markReadOnReply: boolean;
    perNumberPerSecond: number;
    ffmpegPath: string;
  };
  log: {
    level: string;
  };
  connect: {
    /** The Facebook JS SDK the connection page loads (tests point it at a local fake). */
    sdkUrl: string;
    linkTtlS: number;
  };
  tokens: {
    renewBeforeDays: number;
    checkIntervalS: number;
  };
  metrics: {
    token?: string;
    allowFrom?: string[];
  };
}

interface Setting {
  env: string;
  path: string;
  schema: Joi.Schema;
  description: string;
  secret?: boolean;
  /** Comma-separated in the environment. */
  list?: boolean;
}

/** Every setting, with the environment variable that sets it. The README table is generated from this list. */
export const SETTINGS: readonly Setting[] = [
  { env: 'BRIDGE_ROLE', path: 'role', schema: Joi.string().valid('web', 'worker', 'all').default('all'),
    description: 'web = webhook edge only, worker = queue processors only, all = both in one process' },
  { env: 'PORT', path: 'port', schema: Joi.number().integer().min(0).max(65535).default(3000), description: 'HTTP port the edge listens on (0 = any free port)' },
  { env: 'HOST', path: 'host', schema: Joi.string().default('0.0.0.0'), description: 'Address the HTTP server binds to' },
  { env: 'PUBLIC_URL', path: 'publicUrl', schema: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000'),
    description: 'Public base URL of this bridge (webhook URLs given to Meta and Chatwoot are built from it)' },
  { env: 'BODY_LIMIT_BYTES', path: 'bodyLimitBytes', schema: Joi.number().integer().min(1024).default(3_500_000),
    description: 'Largest webhook body accepted (Meta sends at most 3 MB); larger → 413' },
  { env: 'META_APP_SECRET', path: 'meta.appSecret', schema: Joi.string().min(8).required(), secret: true,
    description: 'Meta app secret: checks X-Hub-Signature-256 on every webhook' },
  { env: 'META_VERIFY_TOKEN', path: 'meta.verifyToken', schema: Joi.string().min(8).required(), secret: true,
    description: 'Token Meta echoes in the GET hub.challenge handshake' },
  { env: 'META_APP_ID', path: 'meta.appId', schema: Joi.string().pattern(/^\d{5,30}$/, 'numeric app id'),
    description: 'Meta app id, for the connection page (Facebook SDK) and exchanging its login codes, and (with META_APP_SECRET) for inspecting and renewing connection tokens (debug_token, fb_exchange_token); unset: the page connects nothing and tokens are never checked' },
  { env: 'META_CONFIG_ID', path: 'meta.embeddedSignupConfigId', schema: Joi.string().pattern(/^\d{5,30}$/, 'numeric configuration id'),
    description: 'Configuration id of WhatsApp Embedded Signup (Facebook Login for Business); unset: no "Connect WhatsApp" button' },
  { env: 'META_PAGES_CONFIG_ID', path: 'meta.pagesConfigId', schema: Joi.string().pattern(/^\d{5,30}$/, 'numeric configuration id'),
    description: 'Configuration id of Facebook Login for Business for Pages and Instagram (pages_messaging, pages_manage_metadata, instagram_manage_messages…); unset: no "Connect Pages" button' },
  { env: 'FACEBOOK_SDK_URL', path: 'connect.sdkUrl', schema: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://connect.facebook.net/en_US/sdk.js'),
    description: "Facebook JS SDK loaded by the connection page (its origin is allowed by the page's Content-Security-Policy)" },
  { env: 'CONNECT_LINK_TTL_S', path: 'connect.linkTtlS', schema: Joi.number().integer().min(60).max(86_400).default(1800),
    description: 'How long a connection page link from POST /admin/connect-links stays valid, in seconds' },
  { env: 'META_GRAPH_API_VERSION', path: 'meta.graphApiVersion', schema: Joi.string().pattern(/^v\d+\.\d+$/).default('v26.0'),
    description: 'Graph API version used in every Graph URL (pinned here, never in code)' },
  { env: 'META_GRAPH_BASE_URL', path: 'meta.graphBaseUrl', schema: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://graph.facebook.com'),
    description: 'Graph API host (tests point it at the fake)' },
  { env: 'META_INSTAGRAM_GRAPH_BASE_URL', path: 'meta.instagramGraphBaseUrl', schema: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://graph.instagram.com'),
    description: 'Graph host for Instagram connections with an Instagram-Login token (Page-token connections use META_GRAPH_BASE_URL)' },
  { env: 'META_MEDIA_MAX_BYTES', path: 'meta.mediaMaxBytes', schema: Joi.number().integer().min(1024).default(100 * 1024 * 1024),
    description: 'Largest customer media file downloaded (WhatsApp allows 100 MB)' },
  { env: 'META_MEDIA_TIMEOUT_MS', path: 'meta.mediaTimeoutMs', schema: Joi.number().integer().min(100).default(30_000),
    description: 'Time limit for one media download' },
  { env: 'MEDIA_ALLOWED_HOSTS', path: 'meta.mediaAllowedHosts', list: true,
    schema: Joi.array().items(Joi.string().pattern(HOST_ENTRY, 'host, host:port or *.domain')).default([]),
    description: "Comma-separated hosts (host, host:port or *.domain) files may also be downloaded from, besides Meta's media hosts (*.fbsbx.com, *.fbcdn.net, *.cdninstagram.com), the Graph host and each connection's own platform host. Only listed and configured hosts may be internal addresses" },
  { env: 'REDIS_URL', path: 'redisUrl', schema: Joi.string().uri({ scheme: ['redis', 'rediss'] }).required(),
    description: 'Redis for the Bull queue (run it with AOF on)' },
  { env: 'MONGODB_URI', path: 'mongoUri', schema: Joi.string().uri({ scheme: ['mongodb', 'mongodb+srv'] }).required(),
    description: 'MongoDB (or FerretDB) for connections and delivery records' },
  { env: 'ADMIN_API_KEY', path: 'adminApiKey', schema: Joi.string().min(24).required(), secret: true,
    description: 'Super-admin key for the admin API (header Authorization: Bearer …): every tenant. Tenants get their own keys from POST /admin/tenants' },
  { env: 'ENCRYPTION_KEYS', path: 'encryptionKeys', secret: true, list: true,
    schema: Joi.array().items(Joi.string().pattern(/^[A-Za-z0-9_-]{43}=$/, 'Fernet key')).min(1).required(),
    description: 'Comma-separated Fernet keys (base64url, 32 bytes). The first encrypts, all decrypt' },
  { env: 'QUEUE_PREFIX', path: 'queue.prefix', schema: Joi.string().default('bridge'), description: 'Redis key prefix of the queues' },
  { env: 'QUEUE_INBOUND_CONCURRENCY', path: 'queue.inboundConcurrency', schema: Joi.number().integer().min(1).max(500).default(32),
    description: 'Conversations forwarded in parallel per worker process' },
  { env: 'QUEUE_ATTEMPTS', path: 'queue.attempts', schema: Joi.number().integer().min(1).max(100).default(12),
    description: 'Attempts before a job is dead-lettered' },
  { env: 'QUEUE_BACKOFF_BASE_MS', path: 'queue.backoffBaseMs', schema: Joi.number().integer().min(10).default(1000),
    description: 'First retry delay; doubles each attempt, with jitter' },
  { env: 'QUEUE_BACKOFF_MAX_MS', path: 'queue.backoffMaxMs', schema: Joi.number().integer().min(100).default(10 * 60_000),
    description: 'Longest retry delay' },
  { env: 'QUEUE_ENQUEUE_TIMEOUT_MS', path: 'queue.enqueueTimeoutMs', schema: Joi.number().integer().min(50).default(2000),
    description: 'How long the edge waits for Redis before answering 503 (so Meta redelivers)' },
  { env: 'QUEUE_LOCK_MS', path: 'queue.lockDurationMs', schema: Joi.number().integer().min(1000).default(30_000),
    description: 'A job whose worker died is picked up again after this long' },
  { env: 'QUEUE_CLAIM_LEASE_MS', path: 'queue.claimLeaseMs', schema: Joi.number().integer().min(1000).default(60_000),
    description: 'A message claim left by a worker that died is taken over after this long (longer than one forwarding attempt)' },
  { env: 'QUEUE_UNCONFIRMED_SEND_WAIT_MS', path: 'queue.unconfirmedSendWaitMs', schema: Joi.number().integer().min(0).max(3_600_000).default(90_000),
    description: "A WhatsApp send that got no answer (process killed, timeout) may have gone out: its retry waits this long for Meta's status naming it before sending again (0: resend at once)" },
  { env: 'SHUTDOWN_DRAIN_MS', path: 'shutdown.drainMs', schema: Joi.number().integer().min(0).max(600_000).default(20_000),
    description: 'On SIGTERM: webhooks get 503 at once; work in hand may finish for this long, then the rest is left to other processes' },
  { env: 'RETENTION_DELIVERY_RECORD_DAYS', path: 'retention.deliveryRecordDays', schema: Joi.number().min(1).max(90).default(7),
    description: 'Delivery records (ids and status, no text) expire after this many days (max 90)' },
  { env: 'RETENTION_IDEMPOTENCY_DAYS', path: 'retention.idempotencyDays', schema: Joi.number().min(8).max(90).default(8),
    description: "Inbound ids are remembered this long; must exceed Meta's 7-day redelivery (min 8, max 90)" },
  { env: 'RETENTION_AUDIT_DAYS', path: 'retention.auditDays', schema: Joi.number().min(1).max(730).default(365),
    description: 'Audit events (who did what, no content) expire after this many days (max 730)' },
  { env: 'RETENTION_DEAD_LETTER_DAYS', path: 'retention.deadLetterDays', schema: Joi.number().min(1).max(90).default(14),
    description: 'Dead letters (work given up on, kept encrypted for replay) expire after this many days (max 90)' },
  { env: 'RETENTION_CUSTOMER_MAPPING_DAYS', path: 'retention.customerMappingDays', schema: Joi.number().min(8).max(730).default(90),
    description: "Customer mappings (customer → platform contact and conversation; generic platforms: whom a conversation's replies go to) are forgotten this many days after the last message that used them; a returning customer is looked up on the platform again. At least 8, so a message Meta redelivers (up to 7 days) or the bridge retries still finds the conversation it first went to (min 8, max 730)" },
  { env: 'RETENTION_DELETION_STATUS_DAYS', path: 'retention.deletionStatusDays', schema: Joi.number().min(1).max(365).default(90),
    description: "Status pages of Meta data deletion requests (a confirmation code, a state and counts; no one's id) stay this many days (max 365)" },
  { env: 'ADMIN_AUTH_MAX_FAILURES', path: 'admin.failedKeyLimit.maxFailures', schema: Joi.number().integer().min(1).max(1000).default(10),
    description: 'Wrong admin API keys one client address may send per window before it gets 429' },
  { env: 'ADMIN_AUTH_WINDOW_S', path: 'admin.failedKeyLimit.windowS', schema: Joi.number().integer().min(1).max(86_400).default(900),
    description: 'Window of the failed-key limit, in seconds' },
  { env: 'CHATWOOT_TIMEOUT_MS', path: 'chatwoot.requestTimeoutMs', schema: Joi.number().integer().min(100).default(15_000),
    description: 'Time limit for one Chatwoot API call' },
  { env: 'GENERIC_PLATFORM_TIMEOUT_MS', path: 'generic.requestTimeoutMs', schema: Joi.number().integer().min(100).default(10_000),
    description: 'Time limit for one event POSTed to a generic platform (no answer in time = retried)' },
  { env: 'GENERIC_PLATFORM_MEDIA_LINK_TTL_S', path: 'generic.mediaLinkTtlS', schema: Joi.number().integer().min(30).max(86_400).default(900),
    description: 'How long a media download link in a generic-platform event stays valid (each delivery mints fresh ones)' },
  { env: 'OUTBOUND_MARK_READ', path: 'outbound.markReadOnReply', schema: Joi.boolean().default(true),
    description: "When an agent replies, mark the customer's messages read on WhatsApp (blue ticks)" },
  { env: 'OUTBOUND_PER_NUMBER_PER_SECOND', path: 'outbound.perNumberPerSecond', schema: Joi.number().integer().min(1).max(1000).default(80),
    description: 'Sends per second per WhatsApp number, across all processes (Meta allows 80 by default, up to 1,000)' },
  { env: 'FFMPEG_PATH', path: 'outbound.ffmpegPath', schema: Joi.string().default('ffmpeg'),
    description: 'ffmpeg used to turn agent audio WhatsApp refuses (WAV, WebM…) into OGG/Opus voice notes; without it such audio fails with a reason the agent can act on' },
  { env: 'TOKEN_RENEW_BEFORE_DAYS', path: 'tokens.renewBeforeDays', schema: Joi.number().min(1).max(50).default(10),
    description: 'A Meta token with fewer days left than this is renewed (or, when Meta cannot renew it, its connection is marked expiring)' },
  { env: 'TOKEN_CHECK_INTERVAL_S', path: 'tokens.checkIntervalS', schema: Joi.number().integer().min(1).max(7 * 86_400).default(6 * 3600),
    description: 'How often worker processes inspect every connection\'s Meta token (one process at a time; needs META_APP_ID)' },
  { env: 'LOG_LEVEL', path: 'log.level', schema: Joi.string().valid('error', 'warn', 'info', 'debug').default('info'),
    description: 'Least severe log level written (JSON lines on stdout)' },
  { env: 'METRICS_TOKEN', path: 'metrics.token', schema: Joi.string().min(16), secret: true,
    description: 'Token for GET /metrics (header Authorization: Bearer …). With METRICS_ALLOW_FROM set too, both must hold; with neither set, /metrics answers loopback peers only. /healthz and /readyz are always open' },
  { env: 'METRICS_ALLOW_FROM', path: 'metrics.allowFrom', list: true,
    schema: Joi.array().items(Joi.string().ip({ cidr: 'optional' })).min(1),
    description: 'Comma-separated addresses or CIDRs (e.g. 10.0.0.0/8,::1) whose TCP peers may GET /metrics; X-Forwarded-For is not trusted. Unset: see METRICS_TOKEN' },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function getPath(source: Record<string, unknown>, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], source);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Reads config/<file>.json when present: non-secret defaults a deployment can ship in its image. */
export function readConfigFile(file = path.resolve(__dirname, '..', '..', 'config', 'default.json')): Record<string, unknown> {
  const candidates = [file, path.resolve(__dirname, '..', 'config', 'default.json')];
  const found = candidates.find((c) => existsSync(c));
  return found ? (JSON.parse(readFileSync(found, 'utf8')) as Record<string, unknown>) : {};
}

/**
 * Validates one setting at a time so the error names the environment variable, then returns the frozen Config.
 * Throws ConfigError with a one-line message; secrets are never echoed.
 */
export function loadConfig(env: NodeJS.ProcessEnv, fileValues: Record<string, unknown> = {}): Config {
  const result: Record<string, unknown> = {};
  for (const setting of SETTINGS) setPath(result, setting.path, readSetting(setting, env, fileValues));
  return deepFreeze(result as unknown as Config);
}

/**
 * Reads only the named settings (by environment variable), with the same checks and messages as loadConfig: for
 * tools that need a few settings (the key rotation needs MONGODB_URI and ENCRYPTION_KEYS, not the Meta secrets).
 */
export function loadSettings(env: NodeJS.ProcessEnv, names: readonly string[], fileValues: Record<string, unknown> = {}): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const name of names) {
    const setting = SETTINGS.find((s) => s.env === name);
    if (!setting) throw new Error(`no setting named ${name}`);
    result[name] = readSetting(setting, env, fileValues);
  }
  return result;
}

function readSetting(setting: Setting, env: NodeJS.ProcessEnv, fileValues: Record<string, unknown>): unknown {
  let raw: unknown = env[setting.env];
  if (raw === '' || raw === undefined) raw = getPath(fileValues, setting.path);
  if (setting.list && typeof raw === 'string') {
    raw = raw.split(',').map((k) => k.trim()).filter(Boolean);
  }
  const { value, error } = setting.schema.validate(raw, { convert: true });
  if (error) {
    const shown = setting.secret || raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
    // joi quotes offending values in its messages; for secrets only the kind of failure is named.
    const detail = error.details[0];
    const why = raw === undefined
      ? 'is required'
      : setting.secret
        ? `is invalid (${detail?.type ?? 'rejected'})`
        : error.message.replace(/^"value" /, '');
    throw new ConfigError(`Configuration error: ${setting.env} ${why}${shown} — ${setting.description}`);
  }
  return value;
}
