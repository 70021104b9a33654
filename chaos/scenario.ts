/**
 * One chaos run, on loopback, that stops by itself: customer messages (Meta → bridge → Chatwoot) and agent
 * replies (Chatwoot → bridge → Graph) through two bridge processes sharing Redis and MongoDB, while Chatwoot
 * fails 30% of calls, goes down, throttles, Redis restarts and a bridge is SIGKILLed twice. Then it counts what
 * arrived (chaos/tally.ts), scans Redis and MongoDB for message text (also during the run) and the logs for
 * text, tokens and phone numbers. Used by `npm run chaos` (chaos/main.ts) and test/component/chaos-small.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { startFakeGraph, type FakeGraph } from '../test/fakes/graph';
import { startFakeChatwoot, type ChatwootFaults, type FakeChatwoot } from '../test/fakes/chatwoot';
import {
  ACCOUNT_ID, ADMIN_KEY, APP_SECRET, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, VERIFY_TOKEN,
  createConnection, newFernetKey, withDb,
} from '../test/support/harness';
import { uniqueDbName, uniqueRedisPrefix } from '../test/support/env';
import { startPrivateRedis, type RedisProcess } from '../test/support/processes';
import { scanMongo, scanRedis, type ScanResult } from '../test/support/at-rest-scan';
import { BridgePool } from './bridges';
import { ChatwootRelay } from './chatwoot-relay';
import { AgentReplies } from './agent-replies';
import { CHAOS_FAULTS, runFaults, type FaultRecord } from './faults';
import { scanLogs, type LogFinding } from '../test/support/log-scan';
import { MetaLoad } from './meta-load';
import { inSigkillWindow, tally, type Tally } from './tally';
import { customerPhone, newMarker, seededRandom } from './workload';
import { customerMessagesAtChatwoot, customersWithSeveralConversations, repliesAtGraph } from './what-arrived';
import { countDeadLetters, leftInRedis } from './what-remains';

export interface ChaosOptions {
  messages: number;
  customers: number;
  /** false: the same load without any fault (what the setup manages when nothing fails). */
  faults: boolean;
  replies: number;
  seed: number;
  /** Customer messages offered per second (first deliveries). */
  ratePerSecond: number;
  maxInFlight: number;
  /** A MongoDB-wire server; the run makes its own database there. */
  mongoUri: string;
  /** Stop waiting when nothing more has arrived for this long. */
  stallTimeoutMs: number;
  /** Once everything arrived, keep watching this long for late duplicates. */
  settleMs: number;
  progress?: (line: string) => void;
  /** Where to write the bridge processes' output (JSON lines), for a look after the run. */
  logFile?: string;
}

export interface ScanRecord extends ScanResult {
  store: 'redis' | 'mongodb';
  when: string;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'progress' | 'mongoUri'>;
  startedAt: number;
  durationMs: number;
  faults: FaultRecord[];
  baseFaults: string;
  inbound: Tally;
  /**
   * Agent replies: planned is how many the workload prompts (a reply is only written once its prompt arrived).
   * sigkillWindow: duplicate replies whose first copy reached Graph shortly before a SIGKILL and the second after
   * it (SEND_RECORD_WINDOW_MS): where to look first when the run fails on duplicates. They fail it like any other.
   */
  replies: Tally & { planned: number; sigkillWindow: string[] };
  customersWithSeveralConversations: number;
  deadLettered: number;
  meta: MetaLoad['stats'];
  relay: ChatwootRelay['stats'];
  exits: BridgePool['exits'];
  scans: ScanRecord[];
  leftInRedis: { laneEntries: number; queueJobs: number };
  logs: { lines: number; leaks: LogFinding[] };
  failures: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bridge settings of the run: retries compressed in time, a killed worker's work taken over within seconds. */
function bridgeEnv(redisUrl: string, mongoUri: string, graphUrl: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    MONGODB_URI: withDb(mongoUri, uniqueDbName('chaos')),
    QUEUE_PREFIX: uniqueRedisPrefix('chaos'),
    META_APP_SECRET: APP_SECRET,
    META_VERIFY_TOKEN: VERIFY_TOKEN,
    META_GRAPH_API_VERSION: GRAPH_VERSION,
    META_GRAPH_BASE_URL: graphUrl,
    META_INSTAGRAM_GRAPH_BASE_URL: `${graphUrl}/ig-host`,
    ADMIN_API_KEY: ADMIN_KEY,
    ENCRYPTION_KEYS: newFernetKey(),
    LOG_LEVEL: 'info',
    // 30% of Chatwoot calls fail and a new customer costs ~6 calls: at 12 attempts a first message would be
    // given up on about one time in five. 100 attempts with a short backoff cover the run's faults.
    QUEUE_ATTEMPTS: '100',
    QUEUE_BACKOFF_BASE_MS: '200',
    QUEUE_BACKOFF_MAX_MS: '3000',
    QUEUE_LOCK_MS: '5000',
    QUEUE_CLAIM_LEASE_MS: '10000',
    QUEUE_ENQUEUE_TIMEOUT_MS: '1000',
    CHATWOOT_TIMEOUT_MS: '3000',
    SHUTDOWN_DRAIN_MS: '5000',
  };
}

/** Replies Graph accepted so far, read incrementally (progress only). */
function graphProgress(graph: FakeGraph, marker: string): () => number {
  const keys = new Set<string>();
  let read = 0;
  return () => {
    for (const a of repliesAtGraph(graph, marker, read)) keys.add(a.key);
    read = graph.sent.length;
    return keys.size;
  };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.progress ?? (() => undefined);
  const startedAt = Date.now();
  const marker = newMarker();
  const random = seededRandom(opts.seed);
  const perCustomer = Math.floor(opts.messages / opts.customers);
  const phones = Array.from({ length: opts.customers }, (_, i) => customerPhone(i));

  let redis: RedisProcess | undefined;
  let graph: FakeGraph | undefined;
  let chatwoot: FakeChatwoot | undefined;
  let relay: ChatwootRelay | undefined;
  let bridges: BridgePool | undefined;
  try {
    redis = await startPrivateRedis();
    graph = await startFakeGraph({ version: GRAPH_VERSION });
    graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
    chatwoot = await startFakeChatwoot();
    chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
    const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
    const env = bridgeEnv(redis.url, opts.mongoUri, graph.url);
    bridges = await BridgePool.start(env, 2);
    const pool = bridges;
    const connectionId = await createConnection(pool.url(0), chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined);
    say(`bridges up on ${pool.live().join(', ')}; connection ${connectionId}`);

    const agents = new AgentReplies({
      chatwoot, marker, customers: opts.customers, messagesPerCustomer: perCustomer, replies: opts.replies,
      accepted: (id) => relay!.accepted(id),
    });
    relay = await ChatwootRelay.start(() => pool.live(), (m) => agents.onCreated(m));
    chatwoot.updateInbox(ACCOUNT_ID, inbox.id, { webhookUrl: `${relay.url}/webhooks/chatwoot/${connectionId}` });

    // 30% of Chatwoot calls fail all run long: 20% before any work, 10% of the rest after it (answer lost).
    const baseFaults: ChatwootFaults = { serverErrorRate: 0.2, errorAfterWorkRate: 0.125, random };
    if (opts.faults) chatwoot.setFaults(baseFaults);

    const load = new MetaLoad({
      phones, perCustomer, marker, ratePerSecond: opts.ratePerSecond, maxInFlight: opts.maxInFlight,
      targets: () => pool.live(), appSecret: APP_SECRET, phoneNumberId: PHONE_NUMBER_ID, displayPhoneNumber: '15550783881',
      onSend: (item, customer) => agents.customerMessageSent(item.key, customer, item.seq),
    });
    // Meta tells of each message it accepted ("sent" status webhook), whether or not the sender saw the answer.
    graph.onSend(async (_id, message) => { if (message) load.sendStatus(message); });
    const atGraph = graphProgress(graph, marker);
    const expected = load.total + agents.planned;

    const scans: ScanRecord[] = [];
    const scan = async (when: string, withMongo: boolean) => {
      scans.push({ store: 'redis', when, ...(await scanRedis(redis!.url, [marker])) });
      if (withMongo) scans.push({ store: 'mongodb', when, ...(await scanMongo(env.MONGODB_URI!, [marker])) });
    };
    const ticker = setInterval(() => {
      say(`t+${((Date.now() - startedAt) / 1000).toFixed(0)}s accepted ${load.acked}/${load.total}, at Chatwoot ${agents.seenAtChatwoot.size}, ` +
        `replies written ${agents.sent.length}/${agents.planned}, at Graph ${atGraph()}, bridges up ${pool.live().length}`);
    }, 5_000);
    let faults: FaultRecord[] = [];
    try {
      const faultRun = runFaults(opts.faults ? CHAOS_FAULTS : [], () => load.acked / load.total, { chatwoot, baseFaults, redis, bridges: pool }, async (f) => {
        say(`fault done: ${f.name}`);
        await scan(`after "${f.name}"`, f === CHAOS_FAULTS[2]);
      });
      await load.run();
      say(`all ${load.total} customer messages accepted`);
      faults = await faultRun;

      // Wait for everything to arrive, or for nothing more to arrive for stallTimeoutMs.
      let last = -1;
      let lastChange = Date.now();
      for (;;) {
        const got = agents.seenAtChatwoot.size + atGraph();
        if (got !== last) { last = got; lastChange = Date.now(); }
        if (got >= expected && agents.sent.length >= agents.planned) break;
        if (Date.now() - lastChange > opts.stallTimeoutMs) { say(`nothing new arrived for ${opts.stallTimeoutMs / 1000} s; counting now`); break; }
        await sleep(500);
      }
      await agents.settled(opts.stallTimeoutMs);
      await Promise.race([load.statusesDelivered(), sleep(opts.stallTimeoutMs)]);
      // Those statuses are work too: the bridges are stopped only once their lanes are drained (or stalled).
      const drainBy = Date.now() + opts.stallTimeoutMs;
      while (Date.now() < drainBy && (await leftInRedis(redis!.url, env.QUEUE_PREFIX!)).laneEntries > 0) await sleep(1_000);
      await sleep(opts.settleMs);
    } finally {
      clearInterval(ticker);
    }
    await relay.idle();

    const inbound = tally(load.sent, customerMessagesAtChatwoot(chatwoot));
    const replyTally = tally(agents.sent, repliesAtGraph(graph, marker));
    const kills = pool.exits.filter((e) => e.signal === 'SIGKILL').map((e) => e.at);
    const replies = { ...replyTally, planned: agents.planned, sigkillWindow: inSigkillWindow(replyTally.duplicated, kills) };
    replies.missing.push(...Array.from({ length: Math.max(0, agents.planned - agents.sent.length) }, () => 'reply never written (its prompt never arrived)'));

    // The graceful stop of both processes, then what is left at rest.
    await pool.stopAll();
    await scan('after the run', true);
    const left = await leftInRedis(redis.url, env.QUEUE_PREFIX!);
    const deadLettered = await countDeadLetters(env.MONGODB_URI!);
    const lines = pool.logs();
    if (opts.logFile) writeFileSync(opts.logFile, `${lines.join('\n')}\n`);
    const leaks = scanLogs(lines, {
      markers: [marker],
      tokens: [META_TOKEN, CHATWOOT_TOKEN, APP_SECRET, VERIFY_TOKEN, ADMIN_KEY, ...env.ENCRYPTION_KEYS!.split(','), inbox.secret ?? ''],
      phones,
    });

    const failures = judge({ inbound, replies, scans, left, leaks, replyFailures: agents.failures, exits: pool.exits });
    const { progress: _p, mongoUri: _m, logFile: _l, ...shown } = opts;
    return {
      options: shown, startedAt, durationMs: Date.now() - startedAt, faults,
      baseFaults: opts.faults ? 'Chatwoot answers 5xx to 30% of calls all run long (20% before the work, 10% after it: the answer is lost)' : 'none (--no-faults)',
      inbound, replies, customersWithSeveralConversations: customersWithSeveralConversations(chatwoot),
      deadLettered, meta: load.stats, relay: relay.stats, exits: pool.exits, scans, leftInRedis: left,
      logs: { lines: lines.length, leaks }, failures,
    };
  } finally {
    await bridges?.stopAll().catch(() => undefined);
    await relay?.close().catch(() => undefined);
    await Promise.all([graph?.close(), chatwoot?.close()].map((p) => p?.catch(() => undefined)));
    await redis?.stop().catch(() => undefined);
  }
}

/** Why the run fails; empty when it passes. */
function judge(r: Pick<ChaosReport, 'inbound' | 'replies' | 'scans' | 'exits'> & {
  left: ChaosReport['leftInRedis']; leaks: LogFinding[]; replyFailures: string[];
}): string[] {
  const { inbound, replies } = r;
  const failures: string[] = [];
  if (inbound.delivered !== inbound.sent) failures.push(`customer messages: ${inbound.sent - inbound.delivered} of ${inbound.sent} not delivered`);
  if (replies.delivered !== replies.planned) failures.push(`agent replies: ${replies.planned - replies.delivered} of ${replies.planned} not delivered`);
  // Every duplicate fails the run, those of the SIGKILL window too: Meta's status webhook names a part whose answer
  // died with the process (send tags, src/core/earlier-send.ts), so the retry records it instead of sending again.
  if (inbound.duplicates + replies.duplicates > 0) {
    failures.push(`duplicates: ${inbound.duplicates} customer messages, ${replies.duplicates} replies (${replies.sigkillWindow.length} of them in the SIGKILL window)`);
  }
  if (inbound.outOfOrderPairs + replies.outOfOrderPairs > 0) failures.push(`out of order: ${inbound.outOfOrderPairs} + ${replies.outOfOrderPairs} pairs`);
  if (inbound.unexpected + replies.unexpected > 0) failures.push(`unexpected arrivals: ${inbound.unexpected + replies.unexpected}`);
  const found = r.scans.flatMap((s) => s.findings);
  if (found.length > 0) failures.push(`message text at rest: ${found.length} finding(s), e.g. ${found[0]!.where}`);
  const unreadable = r.scans.flatMap((s) => s.unreadable);
  if (unreadable.length > 0) failures.push(`Redis keys the scan could not read: ${unreadable.slice(0, 3).join(', ')}`);
  if (r.left.laneEntries + r.left.queueJobs > 0) failures.push(`left in Redis after the run: ${r.left.laneEntries} lane entries, ${r.left.queueJobs} queue jobs`);
  if (r.leaks.length > 0) failures.push(`log leaks: ${[...new Set(r.leaks.map((l) => l.kind))].join(', ')} (${r.leaks.length} findings, e.g. ${r.leaks[0]!.excerpt})`);
  if (r.replyFailures.length > 0) failures.push(`reply webhooks refused by the bridge: ${r.replyFailures.length}`);
  const badExits = r.exits.filter((e) => e.signal === 'SIGTERM' && e.code !== 0);
  if (badExits.length > 0) failures.push(`graceful stop exit codes: ${badExits.map((e) => e.code).join(', ')}`);
  return failures;
}
