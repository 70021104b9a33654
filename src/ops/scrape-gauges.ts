/**
 * Gauges computed when /metrics is scraped: queue depth and age from Redis, token health per connection and
 * stored dead letters from MongoDB. Each source is read with a time limit and independently of the others;
 * a source that fails or is slow has its gauges removed (not left at a stale value that would look healthy)
 * and `bridge_scrape_source_up{source}` says 0, so an alert can tell "no backlog" from "could not look".
 */
import { Gauge, type Registry } from 'prom-client';
import type { QueueBacklog } from '../queue/backlog';
import type { ConnectionHealthRow, DeadLetterCounts } from '../store/ops-census';
import type { ConnectionHealth } from '../store/connections';
import type { Logger } from '../log/logger';

export interface ScrapeSources {
  backlog(): Promise<QueueBacklog>;
  connectionHealth(): Promise<ConnectionHealthRow[]>;
  deadLetters(): Promise<DeadLetterCounts>;
}

type SourceName = 'redis_backlog' | 'mongodb_connections' | 'mongodb_dead_letters';

const HEALTH_STATES: readonly ConnectionHealth[] = ['ok', 'expiring', 'needs_reauth', 'disconnected'];

class SourceTimeout extends Error {
  override name = 'SourceTimeout';
}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceTimeout(`no answer within ${ms} ms`)), ms);
  });
  // The losing promise may still reject later; that must not become an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class ScrapeGauges {
  private readonly sourceUp: Gauge<'source'>;
  private readonly jobs: Gauge<'queue' | 'state'>;
  private readonly lanes: Gauge<'queue'>;
  private readonly entries: Gauge<'queue'>;
  private readonly oldestAge: Gauge<'queue'>;
  private readonly tokenHealth: Gauge<'connection_id' | 'channel' | 'state'>;
  private readonly deadLetters: Gauge<'direction'>;
  private readonly failing = new Set<SourceName>();
  private inFlight?: Promise<void>;

  constructor(registry: Registry, private readonly sources: ScrapeSources, private readonly opts: { timeoutMs: number; log: Logger }) {
    const registers = [registry];
    // Every gauge has a label, even where one value would do: prom-client shows an unlabelled gauge as 0 after
    // reset(), and a source that failed must leave its gauges absent, not zero.
    this.sourceUp = new Gauge({ name: 'bridge_scrape_source_up', help: '1 when the source of the scrape-time gauges answered in time, else 0 (its gauges are then absent)', labelNames: ['source'], registers });
    this.jobs = new Gauge({ name: 'bridge_queue_drain_jobs', help: 'Drain jobs of the lanes queue by Bull state (one per lane with work; delayed = waiting to retry)', labelNames: ['queue', 'state'], registers });
    this.lanes = new Gauge({ name: 'bridge_queue_lanes', help: 'Customer/conversation lanes holding work', labelNames: ['queue'], registers });
    this.entries = new Gauge({ name: 'bridge_queue_depth', help: 'Events and agent commands waiting in lanes, the ones being handled included', labelNames: ['queue'], registers });
    this.oldestAge = new Gauge({ name: 'bridge_queue_oldest_age_seconds', help: "Age of the oldest waiting lane entry (Meta's timestamp for customer events, arrival for agent commands); 0 when the lanes are empty", labelNames: ['queue'], registers });
    this.tokenHealth = new Gauge({ name: 'bridge_connection_token_health', help: 'Token health of each connection: 1 on its current state, 0 on the others (needs_reauth = Meta refused the token, code 190)', labelNames: ['connection_id', 'channel', 'state'], registers });
    this.deadLetters = new Gauge({ name: 'bridge_dead_letters_stored', help: 'Dead letters currently stored (they expire after RETENTION_DEAD_LETTER_DAYS); bridge_dead_letters_total counts them as they happen, bridge_dead_letters_resolved_total as admins replay or discard them', labelNames: ['direction'], registers });
  }

  /** Reads every source once; concurrent scrapes share one reading. */
  refresh(): Promise<void> {
    this.inFlight ??= this.readAll().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async readAll(): Promise<void> {
    await Promise.all([
      this.read('redis_backlog', () => this.sources.backlog(), (b) => {
        const { queue } = b;
        for (const [state, n] of Object.entries(b.jobs)) this.jobs.set({ queue, state }, n);
        this.lanes.set({ queue }, b.lanes);
        this.entries.set({ queue }, b.entries);
        this.oldestAge.set({ queue }, b.oldestEntryAgeSeconds);
      }, () => { this.jobs.reset(); this.lanes.reset(); this.entries.reset(); this.oldestAge.reset(); }),
      this.read('mongodb_connections', () => this.sources.connectionHealth(), (rows) => {
        // Reset first: a deleted connection's series must disappear, not stay at its last state.
        this.tokenHealth.reset();
        for (const row of rows) {
          for (const state of HEALTH_STATES) {
            this.tokenHealth.set({ connection_id: row.id, channel: row.channel, state }, row.health === state ? 1 : 0);
          }
        }
      }, () => this.tokenHealth.reset()),
      this.read('mongodb_dead_letters', () => this.sources.deadLetters(), (counts) => {
        for (const [direction, n] of Object.entries(counts)) this.deadLetters.set({ direction }, n);
      }, () => this.deadLetters.reset()),
    ]);
  }

  private async read<T>(source: SourceName, fetch: () => Promise<T>, apply: (value: T) => void, clear: () => void): Promise<void> {
    try {
      apply(await within(fetch(), this.opts.timeoutMs));
      this.sourceUp.set({ source }, 1);
      if (this.failing.delete(source)) this.opts.log.info('metrics source answers again', { source });
    } catch (err) {
      clear();
      this.sourceUp.set({ source }, 0);
      // Logged when a source starts failing, not on every scrape of an outage.
      if (!this.failing.has(source)) {
        this.failing.add(source);
        this.opts.log.warn('metrics source failed; its gauges are left out until it answers', { source, reason: (err as Error).message });
      }
    }
  }
}
