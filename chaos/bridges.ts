/**
 * The bridge processes of a chaos run: the real binary (startBridgeProcess), each on a fixed port so a restarted
 * process is found where the old one was. Keeps the output of every incarnation for the log scan.
 */
import { freePort, startBridgeProcess, type BridgeProcess } from '../test/support/processes';

export class BridgePool {
  private readonly procs: Array<BridgeProcess | undefined>;
  private readonly outputs: string[][] = [];
  /** at: when the signal was sent; ms: how long the process took to exit. */
  readonly exits: Array<{ index: number; signal: string; code: number | null; at: number; ms: number }> = [];

  private constructor(private readonly env: Record<string, string>, private readonly ports: number[]) {
    this.procs = ports.map(() => undefined);
  }

  static async start(env: Record<string, string>, count: number): Promise<BridgePool> {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) ports.push(await freePort());
    const pool = new BridgePool(env, ports);
    // One after the other: the first creates the indexes, which FerretDB does not like done twice at once.
    for (let i = 0; i < count; i += 1) await pool.restart(i);
    return pool;
  }

  /** Base URLs of the processes that are up (started, not killed). */
  live(): string[] {
    return this.procs.filter((p): p is BridgeProcess => p !== undefined && p.child.exitCode === null && p.child.signalCode === null).map((p) => p.baseUrl);
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.ports[i]}`;
  }

  async restart(i: number): Promise<void> {
    const p = await startBridgeProcess(this.env, this.ports[i], [], { readyTimeoutMs: 120_000 });
    this.outputs.push(p.output);
    this.procs[i] = p;
  }

  /** Sends the signal and waits for the exit; returns the exit code (null when killed by the signal). */
  async kill(i: number, signal: NodeJS.Signals): Promise<number | null> {
    const p = this.procs[i];
    if (!p) return null;
    this.procs[i] = undefined;
    const started = Date.now();
    const code = await p.kill(signal);
    this.exits.push({ index: i, signal, code, at: started, ms: Date.now() - started });
    return code;
  }

  /** Every line every incarnation wrote (stdout and stderr). */
  logs(): string[] {
    return this.outputs.flat();
  }

  /** SIGTERM to each process still up: the graceful stop. */
  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p, i) => (p ? this.kill(i, 'SIGTERM') : undefined)));
  }
}
