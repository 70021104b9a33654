/**
 * Load generation: autocannon for the closed-loop ceiling (ack throughput), and an open-loop sender for fixed
 * offered loads (a request every 1/rate seconds whatever the answers do, so queueing shows up as latency).
 */
import autocannon from 'autocannon';
import http from 'node:http';
import { signMetaBody } from '../src/channels/meta/signature';

export interface AckResult { requestsPerSec: number; p50: number; p99: number; non2xx: number; errors: number; total: number }

/** Closed loop: `connections` clients send as fast as answers come back, each body unique and signed. */
export async function ackThroughput(url: string, secret: string, makeBody: () => string, seconds: number, connections: number): Promise<AckResult> {
  const result = await autocannon({
    url: `${url}/webhooks/meta`,
    method: 'POST',
    connections,
    duration: seconds,
    requests: [{
      setupRequest: (req) => {
        const body = makeBody();
        return { ...req, body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, secret) } };
      },
    }],
  });
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

export interface OpenLoopResult { sent: number; accepted: number; sentAt: Map<string, number> }

/** Open loop at a fixed rate for `seconds`; `makeBody` returns the body and the id to track. */
export async function openLoop(url: string, secret: string, rate: number, seconds: number, makeBody: () => { body: string; id: string | null }): Promise<OpenLoopResult> {
  const sentAt = new Map<string, number>();
  const pending: Array<Promise<number>> = [];
  const total = Math.round(rate * seconds);
  const start = Date.now();
  let accepted = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const { body, id } = makeBody();
    if (id) sentAt.set(id, Date.now());
    pending.push(post(`${url}/webhooks/meta`, body, { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, secret) })
      .then((status) => { if (status === 200) accepted += 1; return status; }));
  }
  await Promise.all(pending);
  return { sent: total, accepted, sentAt };
}
