/**
 * Routing: which connection owns a phone_number_id / Page id. Looked up once and kept for a short while, since
 * every message of a busy number asks; unknown ids are remembered briefly too, so a flood for an unrouted number
 * does not become a flood of database reads.
 */
import type { ChannelKind } from './events';
import type { ConnectionRecord, ConnectionRepository } from '../store/connections';

export class ConnectionDirectory {
  private readonly cache = new Map<string, { value: ConnectionRecord | null; until: number }>();

  constructor(private readonly repo: ConnectionRepository, private readonly ttlMs = 30_000, private readonly missTtlMs = 5_000) {}

  async byBusinessId(channel: ChannelKind, businessId: string, now = Date.now()): Promise<ConnectionRecord | null> {
    const key = `${channel}:${businessId}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await this.repo.findByBusinessId(channel, businessId);
    this.cache.set(key, { value, until: now + (value ? this.ttlMs : this.missTtlMs) });
    return value;
  }

  /** By connection id: every queued event and every platform webhook asks, so it is cached the same way. */
  async byId(id: string, now = Date.now()): Promise<ConnectionRecord | null> {
    const key = `id:${id}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await this.repo.findById(id);
    this.cache.set(key, { value, until: now + (value ? this.ttlMs : this.missTtlMs) });
    return value;
  }

  /** Called after admin changes in this process; other processes catch up within the TTL. */
  invalidate(): void {
    this.cache.clear();
  }
}
