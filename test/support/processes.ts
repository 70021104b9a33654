/**
 * Real processes for tests that kill things: a bridge child process (tsx, same code as production), and a
 * private redis-server that a test may stop and start again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';

const ROOT = path.resolve(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class BridgeExited extends Error {
  override name = 'BridgeExited';
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch((err: unknown) => { if (err instanceof BridgeExited) throw err; return false; })) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface BridgeProcess {
  child: ChildProcess;
  baseUrl: string;
  output: string[];
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** readyTimeoutMs: how long /healthz may take to answer (a loaded machine starts tsx slowly); default 30 s. */
export async function startBridgeProcess(env: Record<string, string>, port?: number, nodeArgs: string[] = [], opts: { readyTimeoutMs?: number } = {}): Promise<BridgeProcess> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env, PORT: String(p), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(...c.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (c: Buffer) => output.push(...c.toString().split('\n').filter(Boolean)));
  const baseUrl = `http://127.0.0.1:${p}`;
  await waitUntil(async () => {
    // A bridge that refuses to start (bad configuration, wrong keys) fails the wait at once, with its last words.
    if (child.exitCode !== null) throw new BridgeExited(`bridge exited with code ${child.exitCode} before it was healthy; output: ${output.slice(-5).join(' | ')}`);
    return (await fetch(`${baseUrl}/healthz`)).ok;
  }, opts.readyTimeoutMs ?? 30_000, `bridge on ${baseUrl}; output: ${output.slice(-5).join(' | ')}`).catch((err: unknown) => {
    // A bridge that never became healthy is not left running behind the caller's back.
    child.kill('SIGKILL');
    throw err;
  });
  return {
    child, baseUrl, output,
    kill: (signal) => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    }),
  };
}

export interface RedisProcess {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A redis-server of the test's own, with AOF on, that can be stopped and started on the same port. */
export async function startPrivateRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return; // already running
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
    await waitUntil(() => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }), 10_000, 'redis-server');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: () => new Promise((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
