/**
 * Expiry that follows use ("forgotten N days after the last message that used it") without a database write per
 * message. A use pushes the stored `expiresAt` forward only when it is less than retention − 1 day away, i.e. when it
 * was last pushed more than a day ago: at most one write per entry per day, and an entry goes between retention − 1
 * day and retention after its last use.
 *
 * Each process remembers, per key, the expiry it last read or wrote (and, for contact links, the value), so a warm
 * entry costs no database call until its day is up; then the stored document is read again (another process may
 * have pushed it meanwhile, or it may have expired) and written only if it is still due. Remembered entries whose
 * expiry has passed are dropped as the cache is used, so a process does not keep what MongoDB has forgotten.
 */

export const REFRESH_EVERY_MS = 24 * 3600 * 1000;

/** Least-recently-used map with a size bound; Map keeps insertion order, so re-inserting moves a key to the end. */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string): void { this.map.delete(key); }
  /** The least recently used entry. */
  oldest(): [string, V] | undefined {
    return this.map.entries().next().value as [string, V] | undefined;
  }
  get size(): number { return this.map.size; }
}

type When = Date | number | undefined | null;

const ms = (at: When): number | undefined => (at instanceof Date ? at.getTime() : at ?? undefined);

export class SlidingExpiry<V> {
  private readonly seen: Lru<{ value: V; expiresAt: number }>;

  constructor(readonly retentionMs: number, private readonly clock: () => number = Date.now, max = 50_000) {
    this.seen = new Lru(max);
  }

  now(): number {
    return this.clock();
  }

  /** The expiry a use at this moment gives. */
  fromNow(): Date {
    return new Date(this.clock() + this.retentionMs);
  }

  /** A stored entry with this expiry should be pushed forward by a use now (none yet: written before expiry existed). */
  due(expiresAt: When): boolean {
    const at = ms(expiresAt);
    return at === undefined || at - this.clock() < this.retentionMs - REFRESH_EVERY_MS;
  }

  /** Past its expiry: gone, even when the sweeper has not removed it yet. */
  expired(expiresAt: When): boolean {
    const at = ms(expiresAt);
    return at !== undefined && at <= this.clock();
  }

  /** What this process holds for the key when no database call is needed yet (its expiry was pushed within a day). */
  fresh(key: string): V | undefined {
    this.prune();
    const hit = this.seen.get(key);
    return hit && !this.due(hit.expiresAt) ? hit.value : undefined;
  }

  /** Remembers what was just read from or written to the database. */
  note(key: string, value: V, expiresAt: Date): void {
    this.seen.set(key, { value, expiresAt: expiresAt.getTime() });
    this.prune();
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  /** Drops the least recently used entries that have expired (the others go when they are next asked for). */
  private prune(): void {
    for (let e = this.seen.oldest(); e && this.expired(e[1].expiresAt); e = this.seen.oldest()) this.seen.delete(e[0]);
  }
}
