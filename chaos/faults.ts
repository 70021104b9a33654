/**
 * The faults of a chaos run, in order, each started once the given share of customer messages has been
 * accepted (so a short run and a long one see the same story): Chatwoot fully down for 10 s, Redis restarted
 * (SIGTERM, so AOF is flushed), bridge 0 killed with SIGKILL and restarted, a burst of 429 with Retry-After,
 * bridge 0 killed again. The 5xx share of Chatwoot answers is on for the whole run (set by the scenario).
 */
import type { FakeChatwoot, ChatwootFaults } from '../test/fakes/chatwoot';
import type { RedisProcess } from '../test/support/processes';
import type { BridgePool } from './bridges';

export interface FaultContext {
  chatwoot: FakeChatwoot;
  /** The faults that stay on all run long; a fault that adds some restores these after. */
  baseFaults: ChatwootFaults;
  redis: RedisProcess;
  bridges: BridgePool;
}

export interface Fault {
  name: string;
  /** Share (0–1) of customer messages accepted before it starts. */
  atProgress: number;
  run(ctx: FaultContext): Promise<void>;
}

export interface FaultRecord {
  name: string;
  startedAt: number;
  endedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const CHATWOOT_DOWN_MS = 10_000;
export const THROTTLE_MS = 10_000;
/** How long a killed bridge stays down before it is started again (the restart itself takes a few seconds). */
const KILLED_FOR_MS = 1_000;
const REDIS_DOWN_MS = 1_500;

async function killAndRestart(ctx: FaultContext, i: number): Promise<void> {
  await ctx.bridges.kill(i, 'SIGKILL');
  await sleep(KILLED_FOR_MS);
  await ctx.bridges.restart(i);
}

export const CHAOS_FAULTS: readonly Fault[] = [
  {
    name: `Chatwoot down ${CHATWOOT_DOWN_MS / 1000} s (connections reset)`,
    atProgress: 0.15,
    async run(ctx) {
      ctx.chatwoot.setDown(true);
      await sleep(CHATWOOT_DOWN_MS);
      ctx.chatwoot.setDown(false);
    },
  },
  {
    name: 'Redis restarted (SIGTERM, AOF everysec)',
    atProgress: 0.3,
    async run(ctx) {
      await ctx.redis.stop();
      await sleep(REDIS_DOWN_MS);
      await ctx.redis.start();
    },
  },
  { name: 'bridge 0 SIGKILLed and restarted (1st)', atProgress: 0.45, run: (ctx) => killAndRestart(ctx, 0) },
  {
    name: `Chatwoot 429 with Retry-After: 1 on 30% of calls for ${THROTTLE_MS / 1000} s`,
    atProgress: 0.6,
    async run(ctx) {
      ctx.chatwoot.setFaults({ ...ctx.baseFaults, throttleRate: 0.3, retryAfterS: 1 });
      await sleep(THROTTLE_MS);
      ctx.chatwoot.setFaults(ctx.baseFaults);
    },
  },
  { name: 'bridge 0 SIGKILLed and restarted (2nd)', atProgress: 0.75, run: (ctx) => killAndRestart(ctx, 0) },
];

/** Runs each fault once its progress is reached; `after` runs after each (the scans taken during the run). */
export async function runFaults(faults: readonly Fault[], progress: () => number, ctx: FaultContext, after: (f: Fault) => Promise<void>): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  for (const fault of faults) {
    while (progress() < fault.atProgress) await sleep(100);
    const startedAt = Date.now();
    await fault.run(ctx);
    records.push({ name: fault.name, startedAt, endedAt: Date.now() });
    await after(fault);
  }
  return records;
}
