/**
 * The bench's results as a Markdown table — each measure against its target from the issue — and, below it,
 * where the worker's time went in the 500/s phase (the profile that says why a target is missed).
 */
import type { AckSummary, DrainResult, LoadResult, ReplyResult } from './phases';
import type { ProcessUsage } from './cluster';
import { int, ms, table } from './stats';

export interface BenchResults {
  at: string;
  machine: { cpus: number; model: string; memGiB: number; node: string; loadAverageAtStart: number };
  mongoBackend: string;
  knobs: { seconds: number; drainSeconds: number; connections: number; rates: number[]; replyRate: number; customers: number };
  baseline?: AckSummary;
  layouts: {
    split?: { drain?: DrainResult; ackWithWorker?: AckSummary; loads: Record<number, LoadResult>; replies?: ReplyResult };
    all?: { ack?: AckSummary; loads: Record<number, LoadResult> };
  };
  deadLetters?: number;
  durationSeconds?: number;
}

const TARGET = { ackRatio: 0.85, e2ePerSec: 1000, p99At500: 250, rssMb: 250 };

const verdict = (ok: boolean | undefined) => (ok === undefined ? '–' : ok ? 'met' : '**missed**');

function ackCell(a: AckSummary): string {
  const failures = a.non2xx || a.errors ? `, ${int(a.non2xx)} non-2xx, ${int(a.errors)} errors` : '';
  return `${int(a.requestsPerSec)} req/s, p50 ${ms(a.latencyMs.p50)}, p99 ${ms(a.latencyMs.p99)}, ${a.cpuMsPerRequest.toFixed(2)} CPU-ms/req${failures}`;
}

function loadCell(l: LoadResult): string {
  const lost = l.lost ? `, **${int(l.lost)} lost**` : '';
  const queued = l.queued ? `, ${int(l.queued)} still queued` : '';
  return `${int(l.delivered)}/${int(l.messages)} delivered${queued}${lost}; p50 ${ms(l.latencyMs.p50)}, p99 ${ms(l.latencyMs.p99)}, p99.9 ${ms(l.latencyMs.p999)}; ${int(l.deliveredPerSec)} msg/s`;
}

function allUsage(r: BenchResults): ProcessUsage[] {
  const s = r.layouts.split;
  const a = r.layouts.all;
  return [
    ...(s?.drain?.usage ?? []), ...(s?.ackWithWorker?.usage ?? []), ...Object.values(s?.loads ?? {}).flatMap((l) => l.usage), ...(s?.replies?.usage ?? []),
    ...(a?.ack?.usage ?? []), ...Object.values(a?.loads ?? {}).flatMap((l) => l.usage),
  ];
}

function peakByRole(usage: ProcessUsage[]): Record<string, number> {
  const peak: Record<string, number> = {};
  for (const u of usage) peak[u.role] = Math.max(peak[u.role] ?? 0, u.peakRssMb);
  return peak;
}

export function summaryRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  const base = r.baseline;
  const split = r.layouts.split;
  const all = r.layouts.all;
  if (base) rows.push(['ack throughput, baseline (Express + raw body + HMAC, nothing else)', ackCell(base), '', '']);
  if (split?.drain && base) {
    const ratio = split.drain.ack.requestsPerSec / base.requestsPerSec;
    rows.push(['ack throughput, bridge `web` process (worker elsewhere: not running)', `${ackCell(split.drain.ack)} — **${(ratio * 100).toFixed(0)}%** of baseline`, '≥ 85% of baseline', verdict(ratio >= TARGET.ackRatio)]);
  }
  if (split?.ackWithWorker && base) {
    const ratio = split.ackWithWorker.requestsPerSec / base.requestsPerSec;
    rows.push(['ack throughput, `web` with the `worker` draining on the same 2 cores', `${ackCell(split.ackWithWorker)} — ${(ratio * 100).toFixed(0)}%`, '', '']);
  }
  if (all?.ack && base) {
    const ratio = all.ack.requestsPerSec / base.requestsPerSec;
    rows.push(['ack throughput, one `all` process', `${ackCell(all.ack)} — ${(ratio * 100).toFixed(0)}%`, '', '']);
  }
  if (split?.drain) {
    const d = split.drain;
    const loss = d.lost ? `, **${int(d.lost)} lost**` : '';
    rows.push(['end-to-end throughput: one `worker` working off the burst', `${int(d.messagesPerSec)} msg/s (${int(d.delivered)}/${int(d.backlog)} in ${d.seconds.toFixed(1)} s${d.queued ? `, ${int(d.queued)} still queued` : ''}${loss})`, '≥ 1,000 msg/s, no loss', verdict(d.messagesPerSec >= TARGET.e2ePerSec && d.lost === 0 && d.queued === 0)]);
  }
  for (const [rate, l] of Object.entries(split?.loads ?? {})) {
    const target = Number(rate) === 500 ? 'p99 < 250 ms' : '';
    rows.push([`end-to-end, ${rate} webhooks/s offered (web + worker)`, loadCell(l), target, target ? verdict(l.latencyMs.p99 < TARGET.p99At500 && l.lost === 0) : '']);
  }
  for (const [rate, l] of Object.entries(all?.loads ?? {})) rows.push([`end-to-end, ${rate} webhooks/s offered (one \`all\` process)`, loadCell(l), '', '']);
  if (split?.replies) {
    const p = split.replies;
    rows.push([`agent reply → Graph, ${p.rate}/s`, `${int(p.reachedGraph)}/${int(p.replies)} sent; p50 ${ms(p.latencyMs.p50)}, p99 ${ms(p.latencyMs.p99)}, p99.9 ${ms(p.latencyMs.p999)}`, '', '']);
  }
  const peak = peakByRole(allUsage(r));
  if (Object.keys(peak).length) {
    const worst = Math.max(...Object.values(peak));
    rows.push(['peak RSS per process', Object.entries(peak).map(([role, mb]) => `${role} ${mb.toFixed(0)} MB`).join(', '), '< 250 MB', verdict(worst < TARGET.rssMb)]);
  }
  const cpuAt = split?.loads[500] ?? Object.values(split?.loads ?? {})[0];
  if (cpuAt) {
    rows.push([`CPU-ms at ${cpuAt.offered}/s: web per webhook, the rest per message delivered`, Object.entries(cpuAt.cpuMsPerMessage).map(([who, v]) => `${who} ${v.toFixed(2)}`).join(', '), '', '']);
  }
  return rows;
}

/** Where the worker's time went: the wait profile of the 500/s phase. */
export function profileRows(l: LoadResult): string[][] {
  const rows: string[][] = [];
  for (const u of l.usage) {
    const w = u.wait;
    if (!w) continue;
    const msgs = Math.max(1, l.delivered);
    rows.push([u.role, `event loop busy ${(w.eventLoopUtilization * 100).toFixed(0)}%`, `MongoDB in flight ${((w.mongoBusyMs / w.windowMs) * 100).toFixed(0)}% of the time`, `HTTP out in flight ${((w.httpBusyMs / w.windowMs) * 100).toFixed(0)}%`]);
    const top = Object.entries(w.ops).slice(0, 8);
    for (const [op, t] of top) {
      rows.push(['', op, `${(t.count / msgs).toFixed(2)} per message`, `mean ${(t.totalMs / t.count).toFixed(1)} ms, max ${ms(t.maxMs)}`]);
    }
  }
  return rows;
}

export function report(r: BenchResults): string {
  const m = r.machine;
  const head = `Machine: ${m.cpus} cores (${m.model}), ${m.memGiB} GiB, Node ${m.node}; load average ${m.loadAverageAtStart.toFixed(2)} at start. `
    + `MongoDB-wire server: **${r.mongoBackend}**; Redis 7 (AOF everysec); load generator, fakes, Redis and database on the same box. `
    + `${r.knobs.seconds} s per phase, drains up to ${r.knobs.drainSeconds} s, ${r.knobs.connections} closed-loop connections, ${r.knobs.customers} customers; `
    + 'mix: 75% text, 10% image (20 kB, downloaded from Graph and uploaded to Chatwoot), 15% statuses.';
  const parts = [head, '', table(['measure', 'result', 'target', ''], summaryRows(r))];
  const at500 = r.layouts.split?.loads[500];
  if (at500) parts.push('', `Where the time goes at 500/s (per process, over the phase and its drain):`, '', table(['process', 'what', 'share / count', 'latency'], profileRows(at500)));
  return parts.join('\n');
}
