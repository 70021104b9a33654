/**
 * The measured phases. Each is bounded: a fixed sending time, then at most `drainSeconds` for the messages to
 * reach the Chatwoot fake. A message not there by then is counted as still queued (its lane entry is in
 * Redis) or lost (it is not), never silently left out of the percentiles.
 */
import { spawn } from 'node:child_process';
import { ackThroughput, openLoop, type AckResult } from './load';
import { Cluster, type LayoutOptions, type ProcessUsage, type Role } from './cluster';
import { CpuMeter, peakRssMb } from './proc';
import { summary, type Summary } from './stats';
import type { ArrivalTracker } from './tracker';
import type { Fakes } from './fakes';
import type { WebhookMaker } from './payloads';

export interface Knobs {
  seconds: number;
  drainSeconds: number;
  connections: number;
}

/** The other processes on the box whose CPU counts per message too (Redis, the MongoDB-wire server). */
export interface Servers {
  redisPid?: number;
  mongoPid?: number;
}

export type AckSummary = Omit<AckResult, 'acceptedMessageIds'> & {
  messages: number;
  /** CPU of the process that answered (web, all or the baseline), per webhook answered. */
  cpuMsPerRequest: number;
  usage: ProcessUsage[];
};

function ackSummary(r: AckResult, usage: ProcessUsage[]): AckSummary {
  const { acceptedMessageIds, ...rest } = r;
  const edge = usage.find((u) => u.role !== 'worker');
  const requests = r.requestsPerSec * r.seconds;
  return { ...rest, messages: acceptedMessageIds.length, cpuMsPerRequest: edge ? edge.cpuMs / Math.max(1, requests) : NaN, usage };
}

export async function baselineAck(script: string, secret: string, maker: WebhookMaker, port: number, k: Knobs): Promise<AckSummary> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, META_APP_SECRET: secret, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => { if (c.toString().includes('READY')) resolve(); });
    child.once('exit', (code) => reject(new Error(`baseline server exited (${code})`)));
  });
  const meter = new CpuMeter(child.pid!);
  const r = await ackThroughput(`http://127.0.0.1:${port}`, maker, k.seconds, k.connections);
  const usage: ProcessUsage = { role: 'web', cpuMs: meter.used(), peakRssMb: peakRssMb(child.pid!) };
  child.kill('SIGTERM');
  return ackSummary(r, [usage]);
}

export async function ackPhase(layout: LayoutOptions, roles: Role[], maker: WebhookMaker, k: Knobs): Promise<AckSummary> {
  const cluster = await Cluster.start(layout, roles);
  cluster.markWindow();
  const r = await ackThroughput(cluster.edgeUrl, maker, k.seconds, k.connections);
  return ackSummary(r, await cluster.stop());
}

export interface DrainResult {
  backlog: number;
  delivered: number;
  seconds: number;
  messagesPerSec: number;
  queued: number;
  lost: number;
  ack: AckSummary;
  usage: ProcessUsage[];
}

/**
 * The web process alone takes a closed-loop burst (as if its workers ran on another host), then a worker joins
 * and works off the backlog: how fast it does is the sustained end-to-end throughput of one worker process.
 */
export async function ackThenDrain(layout: LayoutOptions, maker: WebhookMaker, tracker: ArrivalTracker, k: Knobs): Promise<DrainResult> {
  const cluster = await Cluster.start(layout, ['web']);
  cluster.markWindow();
  const r = await ackThroughput(cluster.edgeUrl, maker, k.seconds, k.connections);
  const webUsage = cluster.usage();
  await cluster.add(layout, 'worker');
  cluster.markWindow();
  const start = Date.now();
  const delivered = await tracker.waitFor(r.acceptedMessageIds, 'arrivals', k.drainSeconds * 1000);
  const last = r.acceptedMessageIds.reduce((max, id) => Math.max(max, tracker.arrivals.get(id) ?? 0), start);
  const seconds = (delivered === r.acceptedMessageIds.length ? last - start : Date.now() - start) / 1000;
  const queued = await cluster.queuedEvents();
  const usage = await cluster.stop();
  return {
    backlog: r.acceptedMessageIds.length, delivered, seconds, messagesPerSec: delivered / seconds,
    queued, lost: Math.max(0, r.acceptedMessageIds.length - delivered - queued),
    ack: ackSummary(r, webUsage), usage,
  };
}

export interface LoadResult {
  offered: number;
  seconds: number;
  requests: number;
  accepted: number;
  messages: number;
  delivered: number;
  queued: number;
  lost: number;
  /** Delivered messages per second, from the first webhook sent to the last message in (or the drain limit). */
  deliveredPerSec: number;
  latencyMs: Summary;
  ackLatencyMs: Summary;
  senderMaxLagMs: number;
  /** web: per webhook answered; worker, all, redis, mongo: per customer message delivered. */
  cpuMsPerMessage: Record<string, number>;
  usage: ProcessUsage[];
}

/** Open loop at `rate` webhooks per second on a fresh phase; latency from webhook sent to message in Chatwoot. */
export async function fixedLoad(layout: LayoutOptions, roles: Role[], rate: number, maker: WebhookMaker, tracker: ArrivalTracker, servers: Servers, k: Knobs): Promise<LoadResult> {
  const cluster = await Cluster.start(layout, roles);
  const others = { redis: servers.redisPid ? new CpuMeter(servers.redisPid) : undefined, mongo: servers.mongoPid ? new CpuMeter(servers.mongoPid) : undefined };
  cluster.markWindow();
  const start = Date.now();
  const run = await openLoop(cluster.edgeUrl, maker, rate, k.seconds);
  const delivered = await tracker.waitFor(run.sentAt.keys(), 'arrivals', k.drainSeconds * 1000);
  const end = delivered === run.sentAt.size ? [...run.sentAt.keys()].reduce((max, id) => Math.max(max, tracker.arrivals.get(id)!), start) : Date.now();
  const queued = await cluster.queuedEvents();
  const otherCpu = { redis: others.redis?.used(), mongo: others.mongo?.used() };
  const usage = await cluster.stop();
  // The web process per webhook it answered; everything behind the queue per message delivered.
  const perMessage: Record<string, number> = {};
  for (const u of usage) perMessage[u.role] = u.cpuMs / Math.max(1, u.role === 'web' ? run.accepted : delivered);
  if (otherCpu.redis !== undefined) perMessage.redis = otherCpu.redis / Math.max(1, delivered);
  if (otherCpu.mongo !== undefined) perMessage.mongo = otherCpu.mongo / Math.max(1, delivered);
  return {
    offered: rate, seconds: k.seconds, requests: run.requests, accepted: run.accepted, messages: run.sentAt.size, delivered,
    queued, lost: Math.max(0, run.sentAt.size - delivered - queued),
    deliveredPerSec: delivered / Math.max(0.001, (end - start) / 1000),
    latencyMs: summary(tracker.latencies(run.sentAt, 'arrivals')),
    ackLatencyMs: run.ackLatencyMs, senderMaxLagMs: run.maxLagMs, cpuMsPerMessage: perMessage, usage,
  };
}

export interface ReplyResult {
  rate: number;
  replies: number;
  reachedGraph: number;
  latencyMs: Summary;
  usage: ProcessUsage[];
}

/** Agents answer in the conversations the inbound phases opened: Chatwoot webhook → queue → Graph send. */
export async function agentReplies(layout: LayoutOptions, roles: Role[], fakes: Fakes, tracker: ArrivalTracker, rate: number, k: Knobs): Promise<ReplyResult> {
  const cluster = await Cluster.start(layout, roles);
  cluster.markWindow();
  const conversations = await fakes.call<number[]>({ cmd: 'conversations' });
  const count = Math.round(rate * k.seconds);
  const made = new Map(await fakes.call<Array<[string, number]>>({ cmd: 'agentReplies', conversations, rate, count }));
  const reached = await tracker.waitFor(made.keys(), 'sends', k.drainSeconds * 1000);
  const usage = await cluster.stop();
  return { rate, replies: made.size, reachedGraph: reached, latencyMs: summary(tracker.latencies(made, 'sends')), usage };
}
