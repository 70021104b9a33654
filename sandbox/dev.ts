/**
 * The development entry (`npm run dev`, through sandbox/run.sh, which provides REDIS_URL and MONGODB_URI).
 *
 * Sandbox mode (no META_APP_SECRET configured): the bridge runs for real — same code, real Redis and
 * MongoDB-wire server — while Meta's Graph API and a Chatwoot are the fakes the test suite uses (one
 * implementation, test/fakes/), wired like a real install: a tenant, a WhatsApp connection, a Chatwoot API inbox
 * whose webhook points at the bridge. Every send the Graph fake accepts is followed by `sent`, `delivered` and
 * `read` status webhooks, as a phone would cause. The secrets of a sandbox session are random, live in memory
 * only and die with it; the database is a throwaway one.
 *
 * With META_APP_SECRET set, it runs the bridge alone with the configuration given (nothing invented).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Bridge } from '../src/app';
import { loadConfig, loadSettings, readConfigFile } from '../src/config';
import { FernetKey } from '../src/crypto/fernet';
import { startFakeGraph } from '../test/fakes/graph';
import { startFakeChatwoot } from '../test/fakes/chatwoot';
import { SandboxWorld, SANDBOX } from './world';
import { startInboxPage } from './inbox-page';

export const SANDBOX_STATE_FILE = path.resolve(__dirname, '..', '.cache', 'sandbox.json');

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function runConfigured(): Promise<void> {
  const bridge = new Bridge(loadConfig(process.env, readConfigFile()));
  stopOnSignals(async () => bridge.stop());
  await bridge.start();
  say(`bridge: http://127.0.0.1:${bridge.port} (role ${bridge.config.role}); Meta webhook URL: ${bridge.config.publicUrl}/webhooks/meta`);
}

async function runSandbox(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const pagePort = Number(process.env.SANDBOX_PORT ?? port + 1);
  const { META_GRAPH_API_VERSION: version } = loadSettings(process.env, ['META_GRAPH_API_VERSION'], readConfigFile()) as { META_GRAPH_API_VERSION: string };
  const graph = await startFakeGraph({ version });
  const chatwoot = await startFakeChatwoot();
  const secrets = {
    appSecret: randomBytes(24).toString('hex'),
    verifyToken: randomBytes(12).toString('hex'),
    adminKey: `sandbox-admin-${randomBytes(16).toString('hex')}`,
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    META_APP_SECRET: secrets.appSecret,
    META_VERIFY_TOKEN: secrets.verifyToken,
    META_GRAPH_BASE_URL: graph.url,
    META_INSTAGRAM_GRAPH_BASE_URL: `${graph.url}/ig-host`,
    ADMIN_API_KEY: secrets.adminKey,
    ENCRYPTION_KEYS: FernetKey.generate(),
    // A database of its own per session: the key above dies with the session, and so do the secrets it sealed.
    MONGODB_URI: withDatabase(process.env.MONGODB_URI!, `bridge_sandbox_${Date.now().toString(36)}`),
    QUEUE_PREFIX: `sandbox-${Date.now().toString(36)}`,
    PORT: String(port),
    HOST: process.env.HOST ?? '127.0.0.1',
    PUBLIC_URL: process.env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const bridge = new Bridge(loadConfig(env, readConfigFile()));
  await bridge.start();
  const bridgeUrl = `http://127.0.0.1:${bridge.port}`;
  const world = await SandboxWorld.create({ bridgeUrl, graph, chatwoot, appSecret: secrets.appSecret, adminKey: secrets.adminKey });
  const page = await startInboxPage(world, pagePort);
  stopOnSignals(async () => {
    await page.close();
    await bridge.stop();
    await Promise.all([graph.close(), chatwoot.close()]);
  });

  mkdirSync(path.dirname(SANDBOX_STATE_FILE), { recursive: true });
  // For `npm run simulate` with no flags. Sandbox-only secrets; the file is in .cache/ (git-ignored).
  writeFileSync(SANDBOX_STATE_FILE, JSON.stringify({ bridgeUrl, appSecret: secrets.appSecret, phoneNumberId: SANDBOX.phoneNumberId }, null, 2), { mode: 0o600 });
  say('');
  say('Sandbox is running: the bridge is real; Meta and Chatwoot are played by local fakes.');
  say(`  inbox page:   ${page.url}`);
  say(`  bridge:       ${bridgeUrl}   (admin key for this session only: ${secrets.adminKey})`);
  say(`  simulate:     npm run simulate -- --text "hello"`);
  say('Secrets and data of this session are throwaway. Ctrl-C stops everything.');
}

function withDatabase(uri: string, db: string): string {
  const url = new URL(uri);
  url.pathname = `/${db}`;
  return url.toString();
}

function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    stop().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`stop failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

const run = process.env.META_APP_SECRET ? runConfigured : runSandbox;
run().catch((err: unknown) => {
  process.stderr.write(`dev: ${(err as Error).message}\n`);
  process.exit(1);
});
