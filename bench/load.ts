/**
 * Load generation: autocannon for the closed-loop ceiling (ack throughput), and an open-loop sender for fixed
 * offered loads (a request every 1/rate seconds whatever the answers do, so queueing shows up as latency
 * instead of slowing the sender down).
 */
import autocannon from 'autocannon';
import http from 'node:http';
import type { Webhook, WebhookMaker } from './payloads';
import { summary, type Summary } from './stats';

export interface AckResult {
  seconds: number;
  connections: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  /** Customer messages the server answered 200 for: each must reach Chatwoot. */
  acceptedMessageIds: string[];
}

/** Closed loop: `connections` clients, each sending its next signed webhook as soon as the previous is answered. */
export async function ackThroughput(url: string, maker: WebhookMaker, seconds: number, connections: number): Promise<AckResult> {
  const accepted: string[] = [];
  const result = await autocannon({
    url: `${url}/webhooks/meta`,
    method: 'POST',
    connections,
    duration: seconds,
    requests: [{
      // One request at a time per connection (no pipelining), so the context holds the webhook being answered.
      setupRequest: (req, context) => {
        const hook = maker.next();
        (context as { hook?: Webhook }).hook = hook;
        return { ...req, body: hook.body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': hook.signature } };
      },
      onResponse: (status, _body, context) => {
        const hook = (context as { hook?: Webhook }).hook;
        if (status === 200 && hook?.messageId) accepted.push(hook.messageId);
      },
    }],
  });
  return {
    seconds,
    connections,
    requestsPerSec: result.requests.total / seconds,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    acceptedMessageIds: accepted,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function post(url: string, hook: Webhook): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': hook.signature, 'content-length': Buffer.byteLength(hook.body) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(hook.body);
  });
}

export interface OpenLoopResult {
  rate: number;
  seconds: number;
  requests: number;
  accepted: number;
  ackLatencyMs: Summary;
  /** Customer message id → when its webhook was sent, for the messages the bridge accepted. */
  sentAt: Map<string, number>;
  /** How far behind its schedule the sender fell at worst (a busy load generator shows here, not as latency). */
  maxLagMs: number;
}

/** Open loop at a fixed rate for `seconds`. */
export async function openLoop(url: string, maker: WebhookMaker, rate: number, seconds: number): Promise<OpenLoopResult> {
  const sentAt = new Map<string, number>();
  const acks: number[] = [];
  const pending: Array<Promise<void>> = [];
  const total = Math.round(rate * seconds);
  const start = Date.now();
  let accepted = 0;
  let maxLagMs = 0;
  const target = `${url}/webhooks/meta`;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else maxLagMs = Math.max(maxLagMs, -wait);
    const hook = maker.next();
    const at = Date.now();
    pending.push(post(target, hook).then((status) => {
      acks.push(Date.now() - at);
      if (status !== 200) return;
      accepted += 1;
      if (hook.messageId) sentAt.set(hook.messageId, at);
    }));
  }
  await Promise.all(pending);
  return { rate, seconds, requests: total, accepted, ackLatencyMs: summary(acks), sentAt, maxLagMs };
}
