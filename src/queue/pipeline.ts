/**
 * Both directions through Redis:
 *   Meta edge ── parse + route ──▶ lanes (one per customer) ── drain ──▶ core
 *   platform edge ─────────────────────────────── push ──▶ lanes (one per conversation) ── drain ──▶ core
 * An edge answers only after its write resolved; everything after that is retried by the queue.
 */
import Bull from 'bull';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import type { AccessRevokedEvent, InboundEvent, ParsedDelivery } from '../core/events';
import type { ChannelRegistry } from '../channels/channel';
import type { ConnectionDirectory } from '../core/connection-directory';
import type { InboundRelay } from '../core/relay-inbound';
import type { OutboundRelay } from '../core/relay-outbound';
import type { StatusRelay } from '../core/relay-status';
import type { OutboundCommand } from '../core/outbound';
import type { DeadLetterRepository } from '../store/dead-letters';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';
import { maskPhone } from '../log/redact';
import { isRetryable, errorMessage } from '../core/errors';
import { Lanes, drainJobId, type LaneHead } from './lanes';
import type { Sealer } from './sealed';
import { BACKOFF_NAME, bullBackoffStrategy, type BackoffPolicy } from './backoff';
import { withLogContext } from '../log/context';
import type { SendEcho, SendLedger } from './send-ledger';

export const QUEUE_NAMES = { lanes: 'lanes' } as const;

interface DrainJob {
  lane: string;
}

/**
 * What a lane entry holds (sealed): the routed work and when its webhook arrived; a dead letter keeps it (sealed)
 * for replay. `replayedAt`: put back by an admin (src/queue/dead-letter-replay.ts), so not timed as latency.
 */
export type LanePayload =
  | { direction: 'inbound'; connectionId: string; receivedAt: number; replayedAt?: number; event: InboundEvent }
  | { direction: 'outbound'; connectionId: string; receivedAt: number; replayedAt?: number; command: OutboundCommand };

/** One routed, sealed event on its way into a lane. */
interface LaneEntry {
  lane: string;
  eventId: string;
  timestampMs: number;
  sealed: string;
}

export class QueueUnavailable extends Error {
  override name = 'QueueUnavailable';
}

/**
 * Thrown by a drain job whose process is stopping, between two events: Bull puts the job back (no delay, no event
 * attempt spent) and a worker of another process carries on with the lane where this one left off.
 */
class LaneHandedBack extends Error {
  override name = 'LaneHandedBack';
  readonly retryAfterMs = 0;
}

export interface PipelineOptions {
  redisUrl: string;
  prefix: string;
  attempts: number;
  lockDurationMs: number;
  enqueueTimeoutMs: number;
  backoff: BackoffPolicy;
}

export interface PipelineDeps {
  channels: ChannelRegistry;
  directory: ConnectionDirectory;
  relay: InboundRelay;
  outbound: OutboundRelay;
  statuses: StatusRelay;
  deadLetters: DeadLetterRepository;
  sealer: Sealer;
  metrics: Metrics;
  log: Logger;
  laneRedis: Redis;
  /** Where the edge notes statuses that name a send whose answer may have been lost (absent: not noted). */
  sendLedger?: SendLedger;
  /**
   * This app lost a WhatsApp Business Account (account_update PARTNER_APP_UNINSTALLED / PARTNER_REMOVED): its
   * connections are disconnected (src/core/granting-user.ts). Must be safe to repeat.
   */
  onAccessRevoked(event: AccessRevokedEvent): Promise<{ connections: number; disconnected: number; ignored?: string }>;
}

function customerKeyOf(event: InboundEvent): string {
  const who = event.kind === 'status' ? event.recipient : event.customer;
  // The BSUID is stable across a customer's messages from April 2026 on; older payloads carry only the wa_id.
  return who.bsuid ?? who.id;
}

function laneOf(connectionId: string, event: InboundEvent): string {
  return customerLane(connectionId, customerKeyOf(event));
}

/** The lane of an agent's commands for one platform conversation (channels that do not echo sends). */
export function conversationLane(connectionId: string, platformConversationId: string): string {
  return `${connectionId}:out:${platformConversationId}`;
}

/** A customer's lane on a connection (erasure computes it from the ids it is given). */
export function customerLane(connectionId: string, customerKey: string): string {
  const customer = createHash('sha256').update(customerKey).digest('base64url').slice(0, 22);
  return `${connectionId}:${customer}`;
}

function eventIdOf(event: InboundEvent): string {
  return event.kind === 'status' ? `${event.kind}:${event.externalId}:${event.status}` : `${event.kind}:${event.externalId}`;
}

export class Pipeline {
  readonly drains: Bull.Queue<DrainJob>;
  private readonly lanes: Lanes;
  private stopping = false;
  /** Set when stopWorkers ran out of time: closing then must not wait for those jobs a second time. */
  private abandonRunningJobs = false;

  constructor(private readonly opts: PipelineOptions, private readonly deps: PipelineDeps) {
    const settings: Bull.AdvancedSettings = {
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.lockDurationMs,
      // A job stalls when its worker dies; re-running it is always safe (idempotency keys), dropping it is not.
      maxStalledCount: 1_000_000,
      backoffStrategies: { [BACKOFF_NAME]: bullBackoffStrategy(opts.backoff) },
    };
    this.drains = new Bull<DrainJob>(QUEUE_NAMES.lanes, opts.redisUrl, { prefix: opts.prefix, settings });
    this.lanes = new Lanes(deps.laneRedis, opts.prefix);
    this.drains.on('error', (err) => deps.log.warn('queue error', { queue: this.drains.name, err }));
  }

  /**
   * The Meta edge's only work before answering: parse, route each event to its connection and put it into its
   * customer's lane, in one Redis pipeline. Every accepted event is in its lane at acknowledgement time, so a
   * crash can never let a later message of a customer overtake an earlier one that was still waiting in a
   * queue; and the answer comes after Redis holds it. Throws QueueUnavailable when Redis does not answer within
   * the enqueue time, or when a routing lookup fails. Only the Redis write is timed: a routing lookup on a cold
   * database connection may take a few seconds and is still far inside Meta's patience, whereas a 503 costs a
   * redelivery minutes later.
   *
   * A revocation (this app taken off a WABA) is not a customer's event and has no lane: it is done here, before
   * the answer, like the routing lookups (a few database writes, for an event a business sends rarely). If it
   * fails the answer is 503 and Meta delivers it again; doing it twice changes nothing.
   */
  async enqueueWebhook(body: unknown, receivedAt: number): Promise<void> {
    const client = this.drains.client as unknown as Redis;
    if (client.status !== 'ready') throw new QueueUnavailable(`redis is ${client.status}`);
    const { entries, echoes } = await this.route(body, receivedAt);
    await this.withinEnqueueTime(Promise.all([this.pushToLanes(entries), this.deps.sendLedger?.noteEchoes(echoes)]));
  }

  startWorkers(concurrency: number): void {
    // Every line a job writes, however deep, carries its job id (src/log/context.ts).
    this.drains.process(concurrency, (job) => withLogContext({ jobId: String(job.id) }, () => this.drain(job)));
  }

  /**
   * Graceful stop of this process's workers: no new drain job is taken, each running one finishes the event in
   * hand and hands its lane back. Resolves 'drained' when none is left running, 'timed_out' after timeoutMs (a
   * job still running then is re-run elsewhere once its lock expires; idempotency keys make that safe).
   */
  async stopWorkers(timeoutMs: number): Promise<'drained' | 'timed_out'> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolve) => { timer = setTimeout(() => resolve('timed_out'), timeoutMs); });
    try {
      const outcome = await Promise.race([this.drains.pause(true).then(() => 'drained' as const), timedOut]);
      this.abandonRunningJobs = outcome === 'timed_out';
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Parse one delivery and route every event to its connection and customer lane; sealed, ready to push. With
   * them, the statuses that name one of the bridge's send tags, for the SendLedger.
   */
  private async route(body: unknown, receivedAt: number): Promise<{ entries: LaneEntry[]; echoes: SendEcho[] }> {
    const { metrics, log, channels, directory, sealer } = this.deps;
    const channel = channels.forBody(body);
    if (!channel) {
      metrics.oddities.inc({ channel: 'unknown' });
      // Described, not String()-ed: {"object":{"toString":{}}} threw here, and the 503 it became made Meta redeliver it forever.
      const object = (body as { object?: unknown } | null)?.object;
      log.warn('webhook object no channel reads; acknowledged and dropped', { object: typeof object === 'string' ? object : `(${object === null ? 'null' : typeof object})` });
      return { entries: [], echoes: [] };
    }
    const parsed: ParsedDelivery = channel.parse(body);
    for (const oddity of parsed.oddities) {
      metrics.oddities.inc({ channel: channel.kind });
      log.info('delivery part that is not a customer event', { businessId: oddity.businessId ? maskPhone(oddity.businessId) : undefined, reason: oddity.reason });
    }
    for (const revoked of parsed.revocations ?? []) {
      const outcome = await this.deps.onAccessRevoked(revoked).catch((err: unknown) => {
        throw new QueueUnavailable(`disconnecting the connections of a revoked account failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      log.info(outcome.ignored ? 'account revocation not acted on' : 'account revoked by the business: its connections are disconnected',
        { event: revoked.event, wabaId: revoked.wabaId, ...outcome });
    }
    const entries: LaneEntry[] = [];
    const echoes: SendEcho[] = [];
    for (const event of parsed.events) {
      const conn = await directory.byBusinessId(event.channel, event.businessId).catch((err: unknown) => {
        throw new QueueUnavailable(`connection lookup failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      if (!conn) {
        metrics.events.inc({ channel: event.channel, kind: event.kind, outcome: 'unrouted' });
        log.warn('event for a business id with no connection; acknowledged, not forwarded', { businessId: maskPhone(event.businessId), kind: event.kind });
        continue;
      }
      const payload: LanePayload = { direction: 'inbound', connectionId: conn.id, receivedAt, event };
      entries.push({ lane: laneOf(conn.id, event), eventId: eventIdOf(event), timestampMs: event.timestamp, sealed: sealer.seal(payload) });
      // WhatsApp statuses echo the send tag; Messenger's message_echoes echo the metadata that serves as one.
      if (event.kind === 'status' && event.sendTag) echoes.push({ connectionId: conn.id, tag: event.sendTag, externalId: event.externalId });
      if (event.kind === 'echo' && event.taggedByBridge && event.metadata) echoes.push({ connectionId: conn.id, tag: event.metadata, externalId: event.externalId });
    }
    return { entries, echoes };
  }

  private async pushToLanes(entries: LaneEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const lanes = await this.lanes.push(entries, (lane) => this.drains.toKey(drainJobId(lane, '')));
    // A lane whose drain job is waiting or running needs no other: that job will reach the new entry.
    const toAdd = [...lanes].filter(([, l]) => !l.hasDrainJob);
    if (toAdd.length === 0) return;
    await this.drains.addBulk(toAdd.map(([lane, l]) => ({
      data: { lane },
      opts: { jobId: drainJobId(lane, l.generation), attempts: 1_000_000, backoff: { type: BACKOFF_NAME }, removeOnComplete: true, removeOnFail: true },
    })));
  }

  /**
   * The platform edge's only write: the command goes straight into its conversation's lane. Resolves once Redis
   * holds it; a command already queued (a duplicate webhook) is not queued twice.
   */
  async enqueueCommand(connectionId: string, command: OutboundCommand, commandId: string, receivedAt: number): Promise<void> {
    const client = this.drains.client as unknown as Redis;
    if (client.status !== 'ready') throw new QueueUnavailable(`redis is ${client.status}`);
    const payload: LanePayload = { direction: 'outbound', connectionId, receivedAt, command };
    const lane = await this.commandLane(connectionId, command);
    await this.withinEnqueueTime(this.pushToLanes([{ lane, eventId: commandId, timestampMs: receivedAt, sealed: this.deps.sealer.seal(payload) }]));
  }

  /**
   * A dead letter's work, back into the lane it came from (an admin's replay; src/queue/dead-letter-replay.ts).
   * It keeps its place by its original time: ahead of that customer's or conversation's later entries still
   * waiting, behind nothing that is already done. Throws QueueUnavailable like an edge's write.
   */
  async requeue(payload: LanePayload, eventId: string): Promise<void> {
    const client = this.drains.client as unknown as Redis;
    if (client.status !== 'ready') throw new QueueUnavailable(`redis is ${client.status}`);
    const [lane, timestampMs] = payload.direction === 'inbound'
      ? [laneOf(payload.connectionId, payload.event), payload.event.timestamp]
      : [await this.commandLane(payload.connectionId, payload.command), payload.receivedAt];
    await this.withinEnqueueTime(this.pushToLanes([{ lane, eventId, timestampMs, sealed: this.deps.sealer.seal(payload) }]));
  }

  /** An edge waits this long for Redis, then answers 503 so the sender delivers again. */
  private async withinEnqueueTime<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailable('redis did not answer in time')), this.opts.enqueueTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A command's lane: its conversation's own, except for a reply on a channel that echoes sends (Messenger,
   * Instagram), which goes into the customer's lane. The echo of a send lands there too, behind the reply, and
   * the lane works one entry at a time: the echo is handled only after the reply recorded the Meta id of every
   * part it sent. That ordering — not a timer — is what tells the bridge's own echoes from a person's.
   */
  private async commandLane(connectionId: string, command: OutboundCommand): Promise<string> {
    if (command.kind === 'reply') {
      const conn = await this.deps.directory.byId(connectionId);
      if (conn && this.deps.channels.forKind(conn.channel).echoesSends) return customerLane(connectionId, command.recipient.id);
    }
    return conversationLane(connectionId, command.platformConversationId);
  }

  /** True when a platform delivery id was kept before (rememberDelivery; kept a day). */
  async deliverySeen(deliveryId: string): Promise<boolean> {
    // Bounded like the write that follows: the lane client queues commands while Redis is away, and Chatwoot
    // gives up on a webhook after 5 s.
    if (this.deps.laneRedis.status !== 'ready') throw new QueueUnavailable(`redis is ${this.deps.laneRedis.status}`);
    return (await this.withinEnqueueTime(this.deps.laneRedis.exists(this.seenDeliveryKey(deliveryId)))) === 1;
  }

  /** Called only after the delivery's command is in its lane: a delivery refused or cut off is taken when sent again. */
  async rememberDelivery(deliveryId: string): Promise<void> {
    await this.deps.laneRedis.set(this.seenDeliveryKey(deliveryId), '1', 'EX', 86_400);
  }

  private seenDeliveryKey(deliveryId: string): string {
    return `${this.opts.prefix}:seen-delivery:${deliveryId}`;
  }

  /** Work one lane head-first until it is empty. A retryable failure leaves the head in place: order holds. */
  private async drain(job: Bull.Job<DrainJob>): Promise<void> {
    const { lane } = job.data;
    // One Redis round trip per event: take() and complete() read the head, count the attempt, remove what is
    // done and finish an empty lane in Lua (lanes.ts).
    let head: LaneHead | null = null;
    for (;;) {
      if (!head) {
        if (this.stopping) throw new LaneHandedBack(`process stopping; lane handed back`);
        head = await this.lanes.take(lane);
        if (!head) {
          if (await this.lanes.finishIfEmpty(lane)) return;
          continue;
        }
      }
      const { eventId, attempts: attempt } = head;
      const payload = this.deps.sealer.open<LanePayload>(head.sealed);
      try {
        await this.handle(payload, attempt);
      } catch (err) {
        if (isRetryable(err) && attempt < this.opts.attempts) {
          this.deps.log.warn('event will be retried', { lane, attempt, reason: errorMessage(err) });
          throw Object.assign(err instanceof Error ? err : new Error(String(err)), { eventAttempt: attempt });
        }
        await this.giveUp(payload, eventId, attempt, err);
      }
      // A stopping process takes no next entry: the loop hands the lane back before starting one.
      const next = await this.lanes.complete(lane, eventId, !this.stopping);
      if (next === 'finished') return;
      head = next;
    }
  }

  private async handle(payload: LanePayload, attempt: number): Promise<void> {
    const { metrics, directory } = this.deps;
    const what = payload.direction === 'inbound' ? payload.event.kind : payload.command.kind;
    const log = this.deps.log.child({ connectionId: payload.connectionId, direction: payload.direction, kind: what });
    const conn = await directory.byId(payload.connectionId);
    if (!conn) {
      metrics.events.inc({ channel: 'unknown', kind: what, outcome: 'connection_gone' });
      log.warn('connection was deleted before the work could be done');
      return;
    }
    if (payload.direction === 'outbound') {
      const { command } = payload;
      if (command.kind === 'reply') {
        const outcome = await this.deps.outbound.reply(conn, command, log.child({ platformMessageId: command.platformMessageId }));
        metrics.events.inc({ channel: conn.channel, kind: 'reply', outcome });
        if (outcome === 'sent' && !payload.replayedAt) metrics.replyLatency.observe({ channel: conn.channel }, (Date.now() - payload.receivedAt) / 1000);
      } else if (command.kind === 'typing') {
        await this.deps.outbound.typing(conn, command);
      } else {
        await this.deps.outbound.conversationResolved(conn, command);
      }
      return;
    }
    const { event } = payload;
    if (event.kind === 'status') {
      const outcome = await this.deps.statuses.apply(conn, event);
      metrics.events.inc({ channel: event.channel, kind: 'status', outcome });
      return;
    }
    if (event.kind === 'watermark') {
      const outcome = await this.deps.statuses.applyWatermark(conn, event);
      metrics.events.inc({ channel: event.channel, kind: 'watermark', outcome });
      return;
    }
    const outcome = await this.deps.relay.forward(conn, event, { attempt, maxAttempts: this.opts.attempts }, log.child({ eventId: event.externalId }));
    metrics.events.inc({ channel: event.channel, kind: event.kind, outcome });
    if (outcome === 'forwarded' && !payload.replayedAt) {
      metrics.forwardLatency.observe({ platform: conn.platform.kind }, (Date.now() - payload.receivedAt) / 1000);
    }
  }

  private async giveUp(payload: LanePayload, eventId: string, attempts: number, err: unknown): Promise<void> {
    let reason = errorMessage(err);
    this.deps.metrics.deadLetters.inc({ direction: payload.direction });
    this.deps.log.error('work given up on', { connectionId: payload.connectionId, eventId, attempts, reason });
    if (payload.direction === 'outbound' && payload.command.kind === 'reply') {
      const conn = await this.deps.directory.byId(payload.connectionId);
      // Showing the failure to the agent may fail too (the platform is what is down): the dead letter still gets written.
      if (conn) {
        await this.deps.outbound.giveUp(conn, payload.command, err, this.deps.log).catch((reportErr: unknown) => {
          reason = `${reason}; reporting the failure to the platform failed too: ${errorMessage(reportErr)}`;
        });
      }
    }
    const kind = payload.direction === 'inbound' ? payload.event.kind : payload.command.kind;
    // The work itself is kept (sealed by the repository) so an admin can replay it.
    await this.deps.deadLetters.add({ connectionId: payload.connectionId, direction: payload.direction, eventId, kind, reason, attempts, payload });
  }

  async close(): Promise<void> {
    await this.drains.close(this.abandonRunningJobs);
  }
}
