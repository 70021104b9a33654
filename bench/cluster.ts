/**
 * The bridge processes of one layout — `web` + `worker`, or one `all` — started from the compiled build with
 * the wait profiler preloaded, on fixed ports (so Chatwoot's webhook URL stays valid across restarts), and
 * each phase on a Redis key prefix of its own, so a backlog one phase leaves cannot slow the next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import type { BridgeBuild } from './bridge-build';
import { CpuMeter, peakRssMb } from './proc';

export type Role = 'web' | 'worker' | 'all';

export interface WaitProfile {
  windowMs: number;
  eventLoopUtilization: number;
  mongoBusyMs: number;
  httpBusyMs: number;
  ops: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

export interface ProcessUsage {
  role: Role;
  cpuMs: number;
  peakRssMb: number;
  wait?: WaitProfile;
}

class BridgeProcess {
  readonly meter: CpuMeter;
  private readonly output: string[] = [];

  constructor(readonly role: Role, readonly child: ChildProcess, readonly baseUrl: string, readonly waitFile: string, private readonly graceful: boolean) {
    this.meter = new CpuMeter(child.pid!);
    const keep = (c: Buffer) => { this.output.push(...c.toString().split('\n').filter(Boolean)); this.output.splice(0, Math.max(0, this.output.length - 50)); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  lastOutput(): string {
    return this.output.slice(-5).join(' | ');
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      if (await fetch(`${this.baseUrl}/healthz`).then((r) => r.ok, () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`bridge ${this.role} did not become healthy on ${this.baseUrl}: ${this.lastOutput()}`);
  }

  usage(): ProcessUsage {
    return { role: this.role, cpuMs: this.meter.used(), peakRssMb: peakRssMb(this.child.pid!) };
  }

  /**
   * Reads what the process used, has it write its wait profile, and kills it: a graceful stop would let it work
   * on through its backlog, which no phase measures and which could take minutes. With CPU profiling on, the
   * stop is graceful after all (V8 writes the profile at exit), given 30 s.
   */
  async stop(): Promise<ProcessUsage> {
    const usage = this.usage();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGWINCH');
      const deadline = Date.now() + 5_000;
      while (!existsSync(this.waitFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      this.child.kill(this.graceful ? 'SIGTERM' : 'SIGKILL');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    let wait: WaitProfile | undefined;
    if (existsSync(this.waitFile)) {
      wait = JSON.parse(readFileSync(this.waitFile, 'utf8')) as WaitProfile;
      rmSync(this.waitFile, { force: true });
    }
    return { ...usage, wait };
  }
}

export interface LayoutOptions {
  build: BridgeBuild;
  /** Environment shared by every process of the layout (database, keys, fakes' URLs). */
  env: Record<string, string>;
  ports: Record<Role, number>;
  /** Directory for V8 CPU profiles (--cpu-prof), when asked for. */
  cpuProfileDir?: string;
}

let phaseCounter = 0;

/** One phase's processes. */
export class Cluster {
  private constructor(readonly prefix: string, private readonly procs: BridgeProcess[], private readonly redisUrl: string) {}

  static async start(opts: LayoutOptions, roles: Role[]): Promise<Cluster> {
    phaseCounter += 1;
    const prefix = `bench${process.pid.toString(36)}p${phaseCounter}`;
    const procs = roles.map((role) => Cluster.spawnRole(opts, role, prefix));
    try {
      await Promise.all(procs.map((p) => p.ready(60_000)));
    } catch (err) {
      await Promise.all(procs.map((p) => p.stop()));
      throw err;
    }
    return new Cluster(prefix, procs, opts.env.REDIS_URL!);
  }

  /** Adds a role to a running phase (the worker joining a web process that built up a backlog). */
  async add(opts: LayoutOptions, role: Role): Promise<void> {
    const p = Cluster.spawnRole(opts, role, this.prefix);
    this.procs.push(p);
    await p.ready(60_000);
  }

  private static spawnRole(opts: LayoutOptions, role: Role, prefix: string): BridgeProcess {
    const port = opts.ports[role];
    const waitFile = path.join(os.tmpdir(), `bench-wait-${process.pid}-${prefix}-${role}.json`);
    const nodeArgs = ['-r', opts.build.waitProfile];
    if (opts.cpuProfileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`, `--cpu-prof-name=${prefix}-${role}.cpuprofile`);
    const child = spawn(process.execPath, [...nodeArgs, opts.build.main], {
      cwd: path.resolve(__dirname, '..'),
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root',
        ...opts.env, BRIDGE_ROLE: role, PORT: String(port), HOST: '127.0.0.1', QUEUE_PREFIX: prefix, BENCH_WAIT_PROFILE: waitFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BridgeProcess(role, child, `http://127.0.0.1:${port}`, waitFile, Boolean(opts.cpuProfileDir));
  }

  get edgeUrl(): string {
    const edge = this.procs.find((p) => p.role !== 'worker');
    if (!edge) throw new Error('this phase runs no web process');
    return edge.baseUrl;
  }

  /** Starts the measured window: CPU meters and wait profiles restart. */
  markWindow(): void {
    for (const p of this.procs) {
      p.meter.reset();
      p.child.kill('SIGUSR2');
    }
  }

  /** CPU used since markWindow() and peak RSS so far, per process, without stopping anything. */
  usage(): ProcessUsage[] {
    return this.procs.map((p) => p.usage());
  }

  /** Events still waiting in lanes (not lost: not yet worked). */
  async queuedEvents(): Promise<number> {
    const redis = new Redis(this.redisUrl, { lazyConnect: true });
    await redis.connect();
    try {
      let total = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:lane:*:q`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) total += await redis.zcard(key);
      } while (cursor !== '0');
      return total;
    } finally {
      redis.disconnect();
    }
  }

  /** Stops every process, then deletes the phase's Redis keys (a backlog it leaves is dropped, not worked later). */
  async stop(): Promise<ProcessUsage[]> {
    const usage = await Promise.all(this.procs.map((p) => p.stop()));
    const redis = new Redis(this.redisUrl, { lazyConnect: true });
    await redis.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    return usage;
  }
}
