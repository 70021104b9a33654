/**
 * Preloaded (`node -r`) into the bridge processes the bench starts, never into production: where the time of a
 * process goes while it works — MongoDB commands (driver command monitoring), outgoing HTTP calls (Chatwoot,
 * Graph), and how busy its own event loop is. For each it records the count, the summed latency, and the wall
 * time during which at least one was in flight. SIGUSR2 starts a fresh window; SIGWINCH (or the exit) writes the
 * numbers as JSON to $BENCH_WAIT_PROFILE — the bench then kills the process rather than wait for a graceful stop.
 */
import diagnostics from 'node:diagnostics_channel';
import { renameSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';

interface Tally { count: number; totalMs: number; maxMs: number }

/** Wall time with at least one operation of a kind in flight (overlapping operations counted once). */
class Busy {
  private inFlight = 0;
  private since = 0;
  busyMs = 0;
  begin(now: number): void { if (this.inFlight++ === 0) this.since = now; }
  end(now: number): void { if (--this.inFlight === 0) this.busyMs += now - this.since; }
  reset(now: number): void { this.busyMs = 0; if (this.inFlight > 0) this.since = now; }
  close(now: number): void { if (this.inFlight > 0) { this.busyMs += now - this.since; this.since = now; } }
}

const out = process.env.BENCH_WAIT_PROFILE;
const tallies = new Map<string, Tally>();
const busy = { mongo: new Busy(), http: new Busy() };
let windowStart = performance.now();
let elu = performance.eventLoopUtilization();

function add(key: string, ms: number): void {
  const t = tallies.get(key) ?? { count: 0, totalMs: 0, maxMs: 0 };
  t.count += 1;
  t.totalMs += ms;
  t.maxMs = Math.max(t.maxMs, ms);
  tallies.set(key, t);
}

// MongoDB: every command with its collection, through the driver's command monitoring.
const started = new Map<number, string>();
const createConnection = mongoose.createConnection.bind(mongoose);
(mongoose as { createConnection: typeof mongoose.createConnection }).createConnection = ((uri: string, options: mongoose.ConnectOptions = {}) => {
  const conn = createConnection(uri, { ...options, monitorCommands: true });
  const client = conn.getClient();
  client.on('commandStarted', (e) => {
    const target = (e.command as Record<string, unknown>)[e.commandName];
    started.set(e.requestId, `mongo ${e.commandName} ${typeof target === 'string' ? target : ''}`.trim());
    busy.mongo.begin(performance.now());
  });
  const done = (e: { requestId: number; duration: number }) => {
    const key = started.get(e.requestId);
    started.delete(e.requestId);
    busy.mongo.end(performance.now());
    if (key) add(key, e.duration);
  };
  client.on('commandSucceeded', done);
  client.on('commandFailed', done);
  return conn;
}) as typeof mongoose.createConnection;

// Outgoing HTTP (axios rides on node:http): request start → response fully read, by host:port and method.
const httpStart = new WeakMap<object, { at: number; key: string }>();
diagnostics.subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: { method: string; host: string; getHeader(n: string): unknown; path: string } };
  const host = String(request.getHeader('host') ?? request.host);
  // Chatwoot and Graph paths carry ids; keep only the shape.
  const shape = request.path.split('?')[0]!.replace(/\/\d+(?=\/|$)/g, '/:n').replace(/\/v\d+\.\d+\//, '/').replace(/\/(wamid\.[^/]+|\d{6,})/g, '/:id');
  httpStart.set(request, { at: performance.now(), key: `http ${host} ${request.method} ${shape}` });
  busy.http.begin(performance.now());
});
diagnostics.subscribe('http.client.response.finish', (message) => {
  const { request } = message as { request: object };
  const s = httpStart.get(request);
  if (!s) return;
  httpStart.delete(request);
  const now = performance.now();
  busy.http.end(now);
  add(s.key, now - s.at);
});

diagnostics.subscribe('http.client.request.error', (message) => {
  const { request } = message as { request: object };
  if (!httpStart.delete(request)) return;
  busy.http.end(performance.now());
});

process.on('SIGUSR2', () => {
  const now = performance.now();
  tallies.clear();
  busy.mongo.reset(now);
  busy.http.reset(now);
  windowStart = now;
  elu = performance.eventLoopUtilization();
});

function write(): void {
  if (!out) return;
  const now = performance.now();
  busy.mongo.close(now);
  busy.http.close(now);
  const report = {
    windowMs: now - windowStart,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    mongoBusyMs: busy.mongo.busyMs,
    httpBusyMs: busy.http.busyMs,
    ops: Object.fromEntries([...tallies].sort((a, b) => b[1].totalMs - a[1].totalMs)),
  };
  // Whole or not at all: the bench reads the file as soon as it appears.
  writeFileSync(`${out}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${out}.tmp`, out);
}

process.on('SIGWINCH', write);
process.on('exit', write);
