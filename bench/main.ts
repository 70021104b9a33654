/**
 * `npm run bench` (bench/run.sh starts Redis and the MongoDB-wire server first): the baseline receiver and the
 * bridge measured side by side in one run, on loopback, each layout the ROLE setting allows (web + worker
 * processes, and one process doing both), against the Chatwoot and Graph fakes in a process of their own.
 * Prints a table with every target and writes bench/results/latest.json plus a dated copy.
 */
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { APP_SECRET, ADMIN_KEY, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, VERIFY_TOKEN, createConnection, newFernetKey, withDb } from '../test/support/harness';
import { requireServices, uniqueDbName } from '../test/support/env';
import { freePort } from '../test/support/processes';
import { buildBridge } from './bridge-build';
import { Cluster, type LayoutOptions } from './cluster';
import { Fakes } from './fakes';
import { ArrivalTracker } from './tracker';
import { WebhookMaker, CUSTOMERS } from './payloads';
import { ackPhase, ackThenDrain, agentReplies, baselineAck, fixedLoad, type Knobs } from './phases';
import { report, type BenchResults } from './report';

const program = new Command()
  .name('npm run bench --')
  .description('Baseline receiver and bridge side by side: ack throughput, end-to-end latency and throughput, replies, RSS, CPU')
  .option('--quick', 'short phases (4 s, drains of 8 s): checks the harness, numbers are rough', false)
  .option('--seconds <n>', 'length of each measured phase', (v) => Number(v))
  .option('--drain <n>', 'longest wait for messages to arrive after a phase', (v) => Number(v))
  .option('--rates <list>', 'fixed offered loads, webhooks per second', (v) => v.split(',').map(Number), [100, 500, 1000])
  .option('--reply-rate <n>', 'agent replies per second', (v) => Number(v), 20)
  .option('--layouts <list>', 'split (web + worker processes), all (one process)', (v) => v.split(','), ['split', 'all'])
  .option('--connections <n>', 'closed-loop connections for the ack measurements', (v) => Number(v), 64)
  .option('--profile <dir>', 'write V8 CPU profiles of every bridge process there (also BENCH_PROFILE=dir)')
  .parse();

async function main(): Promise<void> {
  const opts = program.opts<{ quick: boolean; seconds?: number; drain?: number; rates: number[]; replyRate: number; layouts: string[]; connections: number; profile?: string }>();
  // Phases are bounded so the whole run stays under five minutes on 2 cores; a message not in by the end of its
  // drain is reported as still queued or lost, never waited for.
  const knobs: Knobs = { seconds: opts.seconds ?? (opts.quick ? 4 : 10), drainSeconds: opts.drain ?? (opts.quick ? 8 : 15), connections: opts.connections };
  const services = requireServices();
  const began = Date.now();
  const log = (what: string) => console.log(`[${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${what}`);
  const pid = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const servers = { redisPid: pid('REDIS_PID'), mongoPid: pid('MONGO_PID') };

  log('building the bridge (esbuild) and starting the fakes');
  const [build, fakes] = await Promise.all([buildBridge(), Fakes.start()]);
  const tracker = new ArrivalTracker(fakes);
  const maker = new WebhookMaker(fakes.setup.mediaId);
  const ports = { web: await freePort(), worker: await freePort(), all: await freePort() };
  const dbName = uniqueDbName('bench');
  const layout: LayoutOptions = {
    build, ports, cpuProfileDir: opts.profile ?? process.env.BENCH_PROFILE,
    env: {
      REDIS_URL: services.redisUrl, MONGODB_URI: withDb(services.mongoUri, dbName),
      META_APP_SECRET: APP_SECRET, META_VERIFY_TOKEN: VERIFY_TOKEN, META_GRAPH_API_VERSION: GRAPH_VERSION,
      META_GRAPH_BASE_URL: fakes.setup.graphUrl, META_INSTAGRAM_GRAPH_BASE_URL: `${fakes.setup.graphUrl}/ig-host`,
      ADMIN_API_KEY: ADMIN_KEY, ENCRYPTION_KEYS: newFernetKey(), PUBLIC_URL: `http://127.0.0.1:${ports.web}`, LOG_LEVEL: 'warn',
    },
  };
  const results: BenchResults = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: os.loadavg()[0]! },
    mongoBackend: services.mongoBackend,
    knobs: { ...knobs, rates: opts.rates, replyRate: opts.replyRate, customers: CUSTOMERS },
    layouts: {},
  };

  log('baseline: Express + raw body + HMAC, answering 200');
  results.baseline = await baselineAck(build.baseline, APP_SECRET, maker, await freePort(), knobs);

  // One connection (one WhatsApp number → one Chatwoot inbox), made once: every phase shares the database, so
  // customers the first phase introduced are known to the later ones, as on a live number.
  const setupCluster = await Cluster.start(layout, ['web']);
  const connectionId = await createConnection(setupCluster.edgeUrl, fakes.setup.chatwootUrl, fakes.setup.inboxId, PHONE_NUMBER_ID, fakes.setup.inboxSecret || undefined);
  await setupCluster.stop();
  // Chatwoot's webhooks go to whichever process serves the edge in a phase: web and all use their own ports.
  const webhookTo = async (role: 'web' | 'all') => fakes.call({ cmd: 'webhookUrl', url: `http://127.0.0.1:${ports[role]}/webhooks/chatwoot/${connectionId}` });

  if (opts.layouts.includes('split')) {
    await webhookTo('web');
    const split: NonNullable<BenchResults['layouts']['split']> = { loads: {} };
    results.layouts.split = split;
    log('split: web process alone takes a burst, then a worker process drains it');
    split.drain = await ackThenDrain(layout, maker, tracker, knobs);
    log('split: ack throughput with the worker draining on the same cores');
    split.ackWithWorker = await ackPhase(layout, ['web', 'worker'], maker, knobs);
    for (const rate of opts.rates) {
      log(`split: ${rate} webhooks/s offered for ${knobs.seconds} s`);
      split.loads[rate] = await fixedLoad(layout, ['web', 'worker'], rate, maker, tracker, servers, knobs);
    }
    log(`split: agent replies at ${opts.replyRate}/s`);
    split.replies = await agentReplies(layout, ['web', 'worker'], fakes, tracker, opts.replyRate, knobs);
  }
  if (opts.layouts.includes('all')) {
    await webhookTo('all');
    const all: NonNullable<BenchResults['layouts']['all']> = { loads: {} };
    results.layouts.all = all;
    log('all: ack throughput of one process doing both');
    all.ack = await ackPhase(layout, ['all'], maker, knobs);
    const rate = opts.rates.includes(500) ? 500 : opts.rates[0]!;
    log(`all: ${rate} webhooks/s offered for ${knobs.seconds} s`);
    all.loads[rate] = await fixedLoad(layout, ['all'], rate, maker, tracker, servers, knobs);
  }
  results.durationSeconds = (Date.now() - began) / 1000;

  await fakes.close();
  const db = await mongoose.createConnection(layout.env.MONGODB_URI!).asPromise();
  results.deadLetters = await db.collection('dead_letters').countDocuments();
  await db.dropDatabase().catch(() => undefined);
  await db.close();

  const text = report(results);
  console.log(`\n${text}\n`);
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify({ ...results, table: text }, null, 2);
  writeFileSync(path.join(dir, 'latest.json'), json);
  writeFileSync(path.join(dir, `${results.at.slice(0, 10)}-${services.mongoBackend}${opts.quick ? '-quick' : ''}.json`), json);
  log(`written bench/results/latest.json (${results.durationSeconds.toFixed(0)} s of phases)`);
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
