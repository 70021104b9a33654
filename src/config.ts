/**
 * The one place that reads settings. A joi schema over config/default.json overlaid by the environment, validated
 * once at start-up: a bad or missing setting stops the process with one line naming it. Nothing else in the code
 * reads process.env; everything else receives a frozen Config.
 */
import Joi from 'joi';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export interface Config {
  role: 'web' | 'worker' | 'all';
  port: number;
  host: string;
  publicUrl: string;
  bodyLimitBytes: number;
  meta: {
    appSecret: string;
    verifyToken: string;
    graphApiVersion: string;
    graphBaseUrl: string;
    instagramGraphBaseUrl: string;
    mediaMaxBytes: number;
    mediaTimeoutMs: number;
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
  };
  retention: {
    deliveryRecordDays: number;
    idempotencyDays: number;
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
}

interface Setting {
  env: string;
  path: string;
  schema: Joi.Schema;
  description: string;
  secret?: boolean;
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
  { env: 'REDIS_URL', path: 'redisUrl', schema: Joi.string().uri({ scheme: ['redis', 'rediss'] }).required(),
    description: 'Redis for the Bull queue (run it with AOF on)' },
  { env: 'MONGODB_URI', path: 'mongoUri', schema: Joi.string().uri({ scheme: ['mongodb', 'mongodb+srv'] }).required(),
    description: 'MongoDB (or FerretDB) for connections and delivery records' },
  { env: 'ADMIN_API_KEY', path: 'adminApiKey', schema: Joi.string().min(24).required(), secret: true,
    description: 'Key for the admin API (header Authorization: Bearer …)' },
  { env: 'ENCRYPTION_KEYS', path: 'encryptionKeys', secret: true,
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
  { env: 'RETENTION_DELIVERY_RECORD_DAYS', path: 'retention.deliveryRecordDays', schema: Joi.number().min(1).max(90).default(7),
    description: 'Delivery records (ids and status, no text) expire after this many days (max 90)' },
  { env: 'RETENTION_IDEMPOTENCY_DAYS', path: 'retention.idempotencyDays', schema: Joi.number().min(8).max(90).default(8),
    description: "Inbound ids are remembered this long; must exceed Meta's 7-day redelivery (min 8, max 90)" },
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
  { env: 'LOG_LEVEL', path: 'log.level', schema: Joi.string().valid('error', 'warn', 'info', 'debug').default('info'),
    description: 'Least severe log level written (JSON lines on stdout)' },
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
  for (const setting of SETTINGS) {
    let raw: unknown = env[setting.env];
    if (raw === '' || raw === undefined) raw = getPath(fileValues, setting.path);
    if (setting.env === 'ENCRYPTION_KEYS' && typeof raw === 'string') {
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
    setPath(result, setting.path, value);
  }
  return deepFreeze(result as unknown as Config);
}
