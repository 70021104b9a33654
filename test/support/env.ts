/**
 * The servers that test/run-tests.sh starts for component tests, as environment variables:
 *   REDIS_URL      redis://127.0.0.1:PORT (a real redis-server, AOF on)
 *   MONGODB_URI    mongodb://127.0.0.1:PORT/ (a real MongoDB-wire server)
 *   MONGO_BACKEND  mongodb | ferretdb | mongo-java-server | external (what each lacks: test/support/README.md)
 * A test that needs them calls requireServices(), which throws (so the test fails, never skips) when they are
 * missing. All test files share the same servers: give each its own database and Redis key prefix with
 * uniqueDbName() / uniqueRedisPrefix().
 */
import { randomBytes } from 'node:crypto';

export type MongoBackend = 'mongodb' | 'ferretdb' | 'mongo-java-server' | 'external';

export interface Services {
  redisUrl: string;
  mongoUri: string;
  mongoBackend: MongoBackend;
}

const BACKENDS: readonly MongoBackend[] = ['mongodb', 'ferretdb', 'mongo-java-server', 'external'];

export function requireServices(env: NodeJS.ProcessEnv = process.env): Services {
  const missing = ['REDIS_URL', 'MONGODB_URI'].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: this test needs the real Redis and ` +
        'MongoDB-wire servers that test/run-tests.sh starts. Run it through `npm test` (or `bash test/run-tests.sh ' +
        'component`), or set REDIS_URL and MONGODB_URI yourself.',
    );
  }
  const backend = (env.MONGO_BACKEND ?? 'external') as MongoBackend;
  if (!BACKENDS.includes(backend)) {
    throw new Error(`MONGO_BACKEND is '${backend}'; expected one of ${BACKENDS.join(', ')}`);
  }
  return { redisUrl: env.REDIS_URL!, mongoUri: env.MONGODB_URI!, mongoBackend: backend };
}

let counter = 0;

function uniqueSuffix(): string {
  counter += 1;
  return `${process.pid.toString(36)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
}

/**
 * A database name no other test (file or process) uses: `<prefix>_<suffix>`, only [A-Za-z0-9_-] and at most
 * 38 characters (FerretDB allows [A-Za-z0-9_-]{1,63}; MongoDB 64 bytes).
 */
export function uniqueDbName(prefix = 'test'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 20) || 'test';
  return `${clean}_${uniqueSuffix()}`;
}

/** A Redis key prefix (e.g. for bull's `prefix`) no other test uses: `<prefix>-<suffix>`, no ':' or spaces. */
export function uniqueRedisPrefix(prefix = 'test'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || 'test';
  return `${clean}-${uniqueSuffix()}`;
}
