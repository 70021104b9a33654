/**
 * When each customer message reached the Chatwoot fake and each agent reply reached the Graph fake, collected
 * from the fakes process every quarter second, and the waits built on it ("until these N messages arrived, or
 * the drain limit").
 */
import type { Fakes } from './fakes';

export class ArrivalTracker {
  readonly arrivals = new Map<string, number>();
  readonly sends = new Map<string, number>();

  constructor(private readonly fakes: Fakes) {}

  async poll(): Promise<void> {
    const [arrivals, sends] = await Promise.all([
      this.fakes.call<Array<[string, number]>>({ cmd: 'arrivals' }),
      this.fakes.call<Array<[string, number]>>({ cmd: 'sends' }),
    ]);
    // A retried create arrives twice; the first arrival is when the agent could first see the message.
    for (const [id, at] of arrivals) if (!this.arrivals.has(id)) this.arrivals.set(id, at);
    for (const [text, at] of sends) if (!this.sends.has(text)) this.sends.set(text, at);
  }

  /** Polls until every id is in `seen` or the time is up; returns how many arrived. */
  async waitFor(ids: Iterable<string>, seen: 'arrivals' | 'sends', timeoutMs: number): Promise<number> {
    const wanted = [...ids];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const map = this[seen];
      const count = wanted.reduce((n, id) => n + (map.has(id) ? 1 : 0), 0);
      if (count === wanted.length || Date.now() >= deadline) return count;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Latency of each id from when it was sent; Infinity for one that never arrived. */
  latencies(sentAt: Map<string, number>, seen: 'arrivals' | 'sends'): number[] {
    const map = this[seen];
    return [...sentAt].map(([id, at]) => {
      const arrived = map.get(id);
      return arrived === undefined ? Infinity : Math.max(0, arrived - at);
    });
  }
}
