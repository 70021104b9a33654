/**
 * Deletes expired documents on a timer. It does the TTL monitor's work on servers without one (FerretDB v1,
 * mongo-java-server) and is harmless where a TTL index also exists.
 */
import type { Logger } from '../log/logger';
import type { ExpiryDeclaration } from './mongo';

export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

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
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .catch((err: unknown) => { this.log.warn('sweep failed', { err }); return 0; })
        .finally(() => { this.running = undefined; });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
