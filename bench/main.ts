/**
 * `npm run bench`: the baseline and the bridge measured side by side in one run, on loopback, with real Redis
 * and the MongoDB-wire server, the Chatwoot and Graph fakes, and a load generator on the same 2-core box.
 * Prints a table and writes bench/results/latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFakeGraph } from '../test/fakes/graph';
import { startFakeChatwoot } from '../test/fakes/chatwoot';
import { requireServices } from '../test/support/env';
import { ACCOUNT_ID, APP_SECRET, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, createConnection, harnessEnv } from '../test/support/harness';
import { startBridgeProcess, freePort, type BridgeProcess } from '../test/support/processes';
import { ackThroughput, openLoop } from './load';
import { cpuMs, peakRssMb } from './proc';
import { summary, table } from './stats';

const quick = process.argv.includes('--quick');
const ACK_SECONDS = quick ? 3 : 5;
const LOAD_SECONDS = quick ? 4 : 10;
const RATES = [100, 500, 1000];
const CUSTOMERS = 2000;
const services = requireServices();

let seq = 0;
function wamid(): string {
  seq += 1;
  return `wamid.BENCH${seq.toString(36).padStart(8, '0')}${randomBytes(6).toString('hex')}`;
}

function customer(i: number): string {
  return `44770${String(i % CUSTOMERS).padStart(7, '0')}`;
}

interface Mix { body: string; id: string | null }

/** 75% text, 10% image, 15% statuses — roughly what a busy number receives. */
function mixedDelivery(mediaId: string): Mix {
  const n = seq;
  const from = customer(n * 7919);
  const ts = String(Math.floor(Date.now() / 1000));
  const metadata = { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID };
  const kind = n % 20;
  let value: Record<string, unknown>;
  let id: string | null = wamid();
  if (kind < 15) {
    value = { messaging_product: 'whatsapp', metadata, contacts: [{ profile: { name: 'Bench' }, wa_id: from }], messages: [{ from, id, timestamp: ts, type: 'text', text: { body: `bench ${n}` } }] };
  } else if (kind < 17) {
    value = { messaging_product: 'whatsapp', metadata, contacts: [{ profile: { name: 'Bench' }, wa_id: from }], messages: [{ from, id, timestamp: ts, type: 'image', image: { id: mediaId, mime_type: 'image/jpeg' } }] };
  } else {
    value = { messaging_product: 'whatsapp', metadata, statuses: [{ id, status: 'delivered', timestamp: ts, recipient_id: from }] };
    id = null;
  }
  return { body: JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value }] }] }), id };
}

async function startBaseline(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'baseline-server.ts')], {
    env: { ...process.env, META_APP_SECRET: APP_SECRET, PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout!.on('data', (c: Buffer) => {
    const m = /READY (\d+)/.exec(c.toString());
    if (m) resolve(Number(m[1]));
  }));
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

async function waitDelivered(chatwoot: Awaited<ReturnType<typeof startFakeChatwoot>>, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = 0;
  while (Date.now() < deadline) {
    count = chatwoot.messages(ACCOUNT_ID).length;
    if (count >= expected) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return count;
}

/**
 * `--latency`: the steady-state measurement behind the foundation issues' numbers: N customer messages at a
 * rate the backend sustains, then N agent replies, one bridge process; percentiles from POST to the fake.
 */
async function latencyOnly(): Promise<void> {
  const count = Number(process.env.BENCH_COUNT ?? 1000);
  const rate = Number(process.env.BENCH_RATE ?? 25);
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const chatwoot = await startFakeChatwoot({ messagesPerMinuteLimit: 1_000_000 });
  chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
  const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'bench' });
  const env = await harnessEnv({ graphUrl: graph.url, extra: { LOG_LEVEL: 'warn' } });
  const bridge = await startBridgeProcess({ ...env, BRIDGE_ROLE: 'all' });
  const connectionId = await createConnection(bridge.baseUrl, chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined);
  chatwoot.updateInbox(ACCOUNT_ID, inbox.id, { webhookUrl: `${bridge.baseUrl}/webhooks/chatwoot/${connectionId}` });
  let n = 0;
  const run = await openLoop(bridge.baseUrl, APP_SECRET, rate, count / rate, () => {
    n += 1;
    const id = wamid();
    const from = customer(n % 100);
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
      contacts: [{ profile: { name: 'Bench' }, wa_id: from }],
      messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: `latency ${n}` } }] } }] }] });
    return { body, id };
  });
  const delivered = await waitDelivered(chatwoot, run.sentAt.size, 120_000);
  const inbound = summary(chatwoot.messages(ACCOUNT_ID).flatMap((m) => {
    const sent = m.source_id ? run.sentAt.get(m.source_id) : undefined;
    return sent === undefined ? [] : [m.created_at - sent];
  }));
  const conversations = [...new Set(chatwoot.messages(ACCOUNT_ID).map((m) => m.conversation_id))];
  const replyAt = new Map<string, number>();
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const marker = `reply-${i}`;
    replyAt.set(marker, Date.now());
    chatwoot.createAgentReply(ACCOUNT_ID, conversations[i % conversations.length]!, { content: marker });
  }
  const deadline = Date.now() + 120_000;
  let replies: number[] = [];
  while (Date.now() < deadline) {
    replies = graph.sent.flatMap((s) => {
      const at = replyAt.get((s.body.text as { body?: string } | undefined)?.body ?? '');
      return at === undefined ? [] : [s.at - at];
    });
    if (replies.length >= count) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const out = summary(replies);
  await bridge.kill('SIGTERM');
  await Promise.all([graph.close(), chatwoot.close()]);
  const rows = [
    { measure: `customer message → Chatwoot (${delivered}/${run.sentAt.size} @ ${rate}/s, 100 customers)`, p50_ms: inbound.p50, p99_ms: inbound.p99, max_ms: inbound.max },
    { measure: `agent reply → Graph (${out.n}/${count} @ ${rate}/s)`, p50_ms: out.p50, p99_ms: out.p99, max_ms: out.max },
  ];
  console.log(`\nMongoDB-wire: ${services.mongoBackend}; one bridge process (role all)\n\n${table(rows)}\n`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', 'latency.json'), JSON.stringify({ at: new Date().toISOString(), mongoBackend: services.mongoBackend, rate, count, inbound, replies: out }, null, 2));
}

async function main(): Promise<void> {
  if (process.argv.includes('--latency')) return latencyOnly();
  const graph = await startFakeGraph({ version: GRAPH_VERSION });
  graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
  const mediaId = graph.addMedia({ bytes: randomBytes(20_000), mimeType: 'image/jpeg' });
  const chatwoot = await startFakeChatwoot({ messagesPerMinuteLimit: 1_000_000 });
  chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
  const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'bench' });
  const results: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    mongoBackend: services.mongoBackend,
  };
  const rows: Array<Record<string, string | number>> = [];

  // 1. Baseline ceiling.
  const baseline = await startBaseline();
  const base = await ackThroughput(baseline.url, APP_SECRET, () => mixedDelivery(mediaId).body, ACK_SECONDS, 64);
  baseline.stop();
  rows.push({ measure: 'ack throughput, baseline (req/s)', value: Math.round(base.requestsPerSec), p50_ms: base.p50, p99_ms: base.p99 });

  // 2. The bridge, web and worker in separate processes.
  const env = await harnessEnv({ graphUrl: graph.url, extra: { LOG_LEVEL: 'warn', QUEUE_BACKOFF_BASE_MS: '200' } });
  const web = await startBridgeProcess({ ...env, BRIDGE_ROLE: 'web' }, undefined, process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
  // BENCH_PROFILE=dir writes V8 CPU profiles of both bridge processes there (open them in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const worker = await startBridgeProcess({ ...env, BRIDGE_ROLE: 'worker' }, undefined, profile);
  const connectionId = await createConnection(web.baseUrl, chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined);
  chatwoot.updateInbox(ACCOUNT_ID, inbox.id, { webhookUrl: `${web.baseUrl}/webhooks/chatwoot/${connectionId}` });
  const cpuStart = { web: cpuMs(web.child.pid!), worker: cpuMs(worker.child.pid!) };

  let ackMessages = 0;
  const ack = await ackThroughput(web.baseUrl, APP_SECRET, () => {
    const m = mixedDelivery(mediaId);
    if (m.id) ackMessages += 1;
    return m.body;
  }, ACK_SECONDS, 64);
  rows.push({ measure: 'ack throughput, bridge web+worker (req/s)', value: Math.round(ack.requestsPerSec), p50_ms: ack.p50, p99_ms: ack.p99 });
  rows.push({ measure: 'ack ratio bridge / baseline', value: `${((ack.requestsPerSec / base.requestsPerSec) * 100).toFixed(1)}%`, p50_ms: '', p99_ms: '' });
  results.ack = { baseline: base, bridgeSplit: ack, ratio: ack.requestsPerSec / base.requestsPerSec };

  // The ack run leaves a backlog: how fast the workers empty it is the sustained end-to-end throughput.
  const expectedAfterAck = ackMessages - (ack.total - (ack.total - ack.non2xx)) * 0; // every accepted message must arrive
  const drainStart = Date.now();
  const deliveredAfterAck = await waitDelivered(chatwoot, expectedAfterAck, 180_000);
  const all = chatwoot.messages(ACCOUNT_ID);
  const first = Math.min(...all.map((m) => m.created_at));
  const last = Math.max(...all.map((m) => m.created_at));
  const e2eThroughput = deliveredAfterAck / ((last - first) / 1000);
  rows.push({ measure: `end-to-end throughput, backlog of ${ackMessages} (msg/s)`, value: Math.round(e2eThroughput), p50_ms: '', p99_ms: '' });
  results.backlog = { messages: ackMessages, delivered: deliveredAfterAck, seconds: (last - first) / 1000, throughput: e2eThroughput, drainWaitMs: Date.now() - drainStart };

  // 3. Fixed offered loads: latency from webhook POST to the Chatwoot fake creating the message.
  const loads: Record<string, unknown> = {};
  for (const rate of RATES) {
    const before = chatwoot.messages(ACCOUNT_ID).length;
    const run = await openLoop(web.baseUrl, APP_SECRET, rate, LOAD_SECONDS, () => mixedDelivery(mediaId));
    const delivered = await waitDelivered(chatwoot, before + run.sentAt.size, 120_000) - before;
    const latencies: number[] = [];
    for (const m of chatwoot.messages(ACCOUNT_ID)) {
      const sent = m.source_id ? run.sentAt.get(m.source_id) : undefined;
      if (sent !== undefined) latencies.push(m.created_at - sent);
    }
    const s = summary(latencies);
    loads[rate] = { offered: rate, requests: run.sent, accepted: run.accepted, messages: run.sentAt.size, delivered, latencyMs: s };
    rows.push({ measure: `end-to-end @ ${rate}/s offered: delivered ${delivered}/${run.sentAt.size}`, value: `p99.9 ${s.p999}`, p50_ms: s.p50, p99_ms: s.p99 });
  }
  results.fixedLoads = loads;

  // 4. Agent replies → Graph.
  const conversations = [...new Map(chatwoot.messages(ACCOUNT_ID).map((m) => [m.conversation_id, m])).keys()].slice(0, 300);
  const replyAt = new Map<string, number>();
  const replyRate = 50;
  const replyStart = Date.now();
  for (let i = 0; i < conversations.length; i++) {
    const wait = replyStart + (i * 1000) / replyRate - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const marker = `reply-${i}-${randomBytes(3).toString('hex')}`;
    replyAt.set(marker, Date.now());
    chatwoot.createAgentReply(ACCOUNT_ID, conversations[i]!, { content: marker });
  }
  const replyDeadline = Date.now() + 60_000;
  const replyLatencies: number[] = [];
  while (Date.now() < replyDeadline) {
    replyLatencies.length = 0;
    for (const s of graph.sent) {
      const body = (s.body.text as { body?: string } | undefined)?.body;
      const at = body ? replyAt.get(body) : undefined;
      if (at !== undefined) replyLatencies.push(s.at - at);
    }
    if (replyLatencies.length >= replyAt.size) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const rs = summary(replyLatencies);
  rows.push({ measure: `agent reply → Graph (${rs.n}/${replyAt.size} replies @ ${replyRate}/s)`, value: `p99.9 ${rs.p999}`, p50_ms: rs.p50, p99_ms: rs.p99 });
  results.replies = { sent: replyAt.size, reachedGraph: rs.n, latencyMs: rs };

  // 5. Resources.
  const totalMessages = chatwoot.messages(ACCOUNT_ID).length;
  const cpu = { web: cpuMs(web.child.pid!) - cpuStart.web, worker: cpuMs(worker.child.pid!) - cpuStart.worker };
  const rss = { web: peakRssMb(web.child.pid!), worker: peakRssMb(worker.child.pid!) };
  rows.push({ measure: 'peak RSS web / worker (MB)', value: `${rss.web.toFixed(0)} / ${rss.worker.toFixed(0)}`, p50_ms: '', p99_ms: '' });
  rows.push({ measure: 'CPU-ms per message web / worker', value: `${(cpu.web / totalMessages).toFixed(2)} / ${(cpu.worker / totalMessages).toFixed(2)}`, p50_ms: '', p99_ms: '' });
  results.resources = { peakRssMb: rss, cpuMs: cpu, messages: totalMessages, cpuMsPerMessage: { web: cpu.web / totalMessages, worker: cpu.worker / totalMessages } };
  await Promise.all([web.kill('SIGTERM'), worker.kill('SIGTERM')]);

  // 6. One process doing both (the default layout), ack only.
  const env2 = await harnessEnv({ graphUrl: graph.url, extra: { LOG_LEVEL: 'warn' } });
  const allInOne: BridgeProcess = await startBridgeProcess({ ...env2, BRIDGE_ROLE: 'all' });
  await createConnection(allInOne.baseUrl, chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined);
  const ackAll = await ackThroughput(allInOne.baseUrl, APP_SECRET, () => mixedDelivery(mediaId).body, ACK_SECONDS, 64);
  rows.push({ measure: 'ack throughput, bridge all-in-one (req/s)', value: Math.round(ackAll.requestsPerSec), p50_ms: ackAll.p50, p99_ms: ackAll.p99 });
  results.ack = { ...(results.ack as object), bridgeAllInOne: ackAll, ratioAllInOne: ackAll.requestsPerSec / base.requestsPerSec };
  await allInOne.kill('SIGTERM');
  await Promise.all([graph.close(), chatwoot.close()]);

  const header = `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; MongoDB-wire: ${services.mongoBackend}; load generator on the same box`;
  console.log(`\n${header}\n\n${table(rows)}\n`);
  const out = path.join(__dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), ...results, table: rows }, null, 2));
  console.log(`written ${path.join('bench', 'results', 'latest.json')}`);
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
