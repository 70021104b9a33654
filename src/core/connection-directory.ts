/**
 * Routing: which connection owns a phone_number_id / Page id. Looked up once and kept for a short while, since
 * every message of a busy number asks; unknown ids are remembered briefly too, so a flood for an unrouted number
 * does not become a flood of database reads.
 */
import type { ChannelKind } from './events';
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';

export class ConnectionDirectory {
  private readonly cache = new Map<string, { value: Promise<ConnectionRecord | null>; until: number }>();

  constructor(private readonly repo: ConnectionRepository, private readonly ttlMs = 30_000, private readonly missTtlMs = 5_000) {}

  async byBusinessId(channel: ChannelKind, businessId: string, now = Date.now()): Promise<ConnectionRecord | null> {
    return this.lookup(`${channel}:${businessId}`, () => this.repo.findByBusinessId(channel, businessId), now);
  }

  /** By connection id: every queued event and every platform webhook asks, so it is cached the same way. */
  async byId(id: string, now = Date.now()): Promise<ConnectionRecord | null> {
    return this.lookup(`id:${id}`, () => this.repo.findById(id), now);
  }

  /**
   * A lookup in flight is shared: when an entry expires under a few hundred webhooks a second, they all wait on one
   * database read instead of each sending its own (npm run bench saw hundreds pile up on a slow database).
   * A failed read is not kept.
   */
  private lookup(key: string, load: () => Promise<ConnectionRecord | null>, now: number): Promise<ConnectionRecord | null> {
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    const entry = { value, until: Number.POSITIVE_INFINITY };
    this.cache.set(key, entry);
    value.then(
      (found) => { entry.until = now + (found ? this.ttlMs : this.missTtlMs); },
      () => { if (this.cache.get(key) === entry) this.cache.delete(key); },
    );
    return value;
  }

  /** Called after admin changes in this process; other processes catch up within the TTL. */
  invalidate(): void {
    this.cache.clear();
  }
}
