/**
 * The bench's handle on the fakes process (bench/fakes-process.ts): requests over the IPC channel, answers by id.
 * Arrival times come back as [id, epoch ms]; both processes read the same machine clock.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface FakesSetup {
  graphUrl: string;
  chatwootUrl: string;
  inboxId: number;
  inboxSecret: string;
  mediaId: string;
}

export type FakesRequest =
  | { cmd: 'setup' }
  | { cmd: 'webhookUrl'; url: string }
  | { cmd: 'arrivals' }
  | { cmd: 'sends' }
  | { cmd: 'conversations' }
  | { cmd: 'agentReplies'; conversations: number[]; rate: number; count: number }
  | { cmd: 'close' };

export class Fakes {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: ChildProcess, readonly setup: FakesSetup) {}

  static async start(): Promise<Fakes> {
    const child = fork(path.join(__dirname, 'fakes-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const fakes = new Fakes(child, undefined as unknown as FakesSetup);
    child.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const w = fakes.waiting.get(msg.id);
      if (!w) return;
      fakes.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(`fakes process: ${msg.error}`));
      else w.resolve(msg.result);
    });
    child.on('exit', (code) => {
      for (const w of fakes.waiting.values()) w.reject(new Error(`fakes process exited (${code})`));
      fakes.waiting.clear();
    });
    (fakes as { setup: FakesSetup }).setup = await fakes.call<FakesSetup>({ cmd: 'setup' });
    return fakes;
  }

  call<T>(req: FakesRequest): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, req });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call({ cmd: 'close' }).catch(() => undefined);
    await exited;
  }
}
