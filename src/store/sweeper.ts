/**
 * Deletes expired documents on a timer. It does the TTL monitor's work on servers without one (FerretDB v1,
 * mongo-java-server) and is harmless where a TTL index also exists.
 *
 * Without an index on the expiry field (FerretDB) every pass reads every document: the chaos run measured one pass
 * over ~17,000 records at ~57 s on a busy FerretDB, so two processes sweeping each minute kept its one SQLite writer
 * busy and the message throughput fell as the records grew. A pass therefore waits, after the last one, at least
 * SWEEP_DUTY_FACTOR times as long as that pass took: sweeping takes at most about 1/(factor+1) of the database's
 * time per process, whatever the data size, and expiry is only ever late, never skipped.
 */
import type { Logger } from '../log/logger';
import type { ExpiryDeclaration } from './mongo';

export const SWEEP_DUTY_FACTOR = 10;

export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;

  constructor(private readonly targets: ExpiryDeclaration[], private readonly log: Logger) {}

  /** One pass over every expiring collection; returns how many documents were removed. */
  async sweepOnce(now = new Date()): Promise<number> {
    let removed = 0;
    for (const { model, field } of this.targets) {
      const res = await model.deleteMany({ [field]: { $lt: now } });
      removed += res.deletedCount ?? 0;
    }
    if (removed > 0) this.log.info('expired records swept', { removed });
    return removed;
  }

  start(intervalMs: number): void {
    this.stopped = false;
    this.schedule(intervalMs, intervalMs);
  }

  private schedule(delayMs: number, intervalMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.running = this.sweepOnce()
        .catch((err: unknown) => { this.log.warn('sweep failed', { err }); return 0; })
        .finally(() => {
          this.running = undefined;
          const tookMs = Date.now() - started;
          this.schedule(Math.max(intervalMs, tookMs * SWEEP_DUTY_FACTOR), intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
