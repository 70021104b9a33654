/**
 * Readiness: may this process be sent work right now? Yes when every dependency answers a real ping within a
 * short time and the process is not shutting down. Orchestrators probe with a 1 s timeout by default
 * (Kubernetes), so each ping gets less than that; a dependency that does not answer in time counts as down.
 *
 * The report names each dependency with a fixed, short reason — never a driver's error text, which may carry
 * host names — because /readyz is open to anyone who can reach the port. The detail goes to the log, once per
 * change of state rather than once per probe.
 */
import type { Logger } from '../log/logger';

export interface DependencyCheck {
  name: string;
  /** Resolves when the dependency answered; rejects (ideally with a NotReady) when it did not. */
  ping(): Promise<void>;
}

/** A check's own verdict, with a reason fit to show in the report. */
export class NotReady extends Error {
  override name = 'NotReady';
}

export interface ReadinessReport {
  ready: boolean;
  /** Every dependency by name: 'ok' or why not. */
  checks: Record<string, string>;
  /** What is not ready (dependency names, or 'shutting_down'). */
  failing: string[];
}

export class Readiness {
  private inFlight?: Promise<ReadinessReport>;
  private lastFailing = '';

  constructor(
    private readonly checks: DependencyCheck[],
    private readonly opts: { timeoutMs: number; isShuttingDown(): boolean; log: Logger },
  ) {}

  /** Concurrent probes share one round of pings, so a burst of probes cannot multiply database traffic. */
  report(): Promise<ReadinessReport> {
    this.inFlight ??= this.run().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async run(): Promise<ReadinessReport> {
    if (this.opts.isShuttingDown()) {
      return { ready: false, checks: Object.fromEntries(this.checks.map((c) => [c.name, 'not checked'])), failing: ['shutting_down'] };
    }
    const results = await Promise.all(this.checks.map(async (check) => {
      try {
        await this.within(check.ping());
        return [check.name, 'ok', undefined] as const;
      } catch (err) {
        return [check.name, err instanceof NotReady ? err.message : 'ping failed', err] as const;
      }
    }));
    const failing = results.filter(([, verdict]) => verdict !== 'ok').map(([name]) => name);
    this.logChange(failing, results);
    return { ready: failing.length === 0, checks: Object.fromEntries(results.map(([name, verdict]) => [name, verdict])), failing };
  }

  private within(work: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NotReady(`no answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
    });
    // A ping that loses the race may reject later (e.g. after server selection gives up): not unhandled.
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private logChange(failing: string[], results: ReadonlyArray<readonly [string, string, unknown]>): void {
    const key = failing.join(',');
    if (key === this.lastFailing) return;
    this.lastFailing = key;
    if (failing.length === 0) {
      this.opts.log.info('ready: every dependency answers');
      return;
    }
    // The log may say what the driver said; the HTTP report only says the fixed verdict.
    const reasons = Object.fromEntries(results.filter(([, v]) => v !== 'ok').map(([name, verdict, err]) =>
      [name, err instanceof NotReady || !(err instanceof Error) ? verdict : `${verdict}: ${err.message}`]));
    this.opts.log.warn('not ready', { failing, reasons });
  }
}
