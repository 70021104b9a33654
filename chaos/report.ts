/** The chaos run's one report, as text. */
import type { ChaosReport } from './scenario';
import type { Tally } from './tally';

const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

function line(name: string, t: Tally): string {
  return `${name.padEnd(34)} sent ${t.sent}  delivered ${t.delivered}  duplicates ${t.duplicates}  out-of-order pairs ${t.outOfOrderPairs}` +
    ` (${t.streamsOutOfOrder} streams)  delay p50 ${s(t.delayMs.p50)}  p99 ${s(t.delayMs.p99)}  max ${s(t.delayMs.max)}`;
}

export function formatReport(r: ChaosReport): string {
  const o = r.options;
  const out: string[] = [];
  out.push(`chaos run: ${o.messages} customer messages from ${o.customers} customers, ${r.replies.planned} agent replies, 2 bridge processes, seed ${o.seed}, offered ${o.ratePerSecond}/s`);
  out.push('faults:');
  out.push(`  all run   ${r.baseFaults}`);
  for (const f of r.faults) out.push(`  t+${s(f.startedAt - r.startedAt).padEnd(8)} ${f.name} (took ${s(f.endedAt - f.startedAt)})`);
  out.push(line('customer messages → Chatwoot:', r.inbound));
  out.push(line('agent replies → Graph:', r.replies));
  if (r.replies.sigkillWindow.length) {
    out.push(`  of the reply duplicates, ${r.replies.sigkillWindow.length} in the SIGKILL window: Graph accepted the send, the process was killed before recording it, and the retry did not find Meta's status naming it`);
  }
  if (r.inbound.missing.length) out.push(`  missing customer messages: ${r.inbound.missing.slice(0, 5).join(', ')}${r.inbound.missing.length > 5 ? ', …' : ''}`);
  if (r.replies.missing.length) out.push(`  missing replies: ${r.replies.missing.slice(0, 5).join(', ')}${r.replies.missing.length > 5 ? ', …' : ''}`);
  const kills = r.exits.filter((e) => e.signal === 'SIGKILL');
  for (const d of [...r.inbound.duplicated, ...r.replies.duplicated]) {
    const first = d.arrivals[0]!;
    const kill = kills.map((k) => k.at).filter((at) => at >= first).sort((a, b) => a - b)[0];
    out.push(`  duplicate ${d.key}: arrived at ${d.arrivals.map((a) => `t+${s(a - r.startedAt)}`).join(', ')}` +
      (kill !== undefined ? `; next SIGKILL ${kill - first} ms after the first arrival` : ''));
  }
  out.push(`dead-lettered: ${r.deadLettered}`);
  out.push(`customers with more than one Chatwoot conversation: ${r.customersWithSeveralConversations}`);
  const answers = Object.entries(r.meta.answers).sort().map(([k, v]) => `${k} ×${v}`).join(', ');
  out.push(`Meta webhook answers: ${answers}; redeliveries ${r.meta.redeliveries}`);
  out.push(`Meta "sent" status webhooks (one per message Graph accepted, with its send tag): ${r.meta.statuses}, redeliveries ${r.meta.statusRedeliveries}`);
  out.push(`Chatwoot webhooks (driver retries them, as real Chatwoot does not): received ${r.relay.received}, accepted ${r.relay.forwarded}, retries ${r.relay.retries}, refused ${r.relay.refused.length}`);
  out.push(`bridge exits: ${r.exits.map((e) => `#${e.index} ${e.signal} → ${e.code === null ? 'killed' : `exit ${e.code}`} in ${s(e.ms)}`).join('; ')}`);
  const redisScans = r.scans.filter((x) => x.store === 'redis');
  const mongoScans = r.scans.filter((x) => x.store === 'mongodb');
  const findings = r.scans.reduce((n, x) => n + x.findings.length, 0);
  out.push(`message text at rest: ${redisScans.length} Redis scans (${redisScans.reduce((n, x) => n + x.scanned, 0)} keys read), ` +
    `${mongoScans.length} MongoDB scans (${mongoScans.reduce((n, x) => n + x.scanned, 0)} documents read): ${findings} findings`);
  out.push(`left in Redis after the run: ${r.leftInRedis.laneEntries} lane entries, ${r.leftInRedis.queueJobs} queue jobs`);
  out.push(`logs: ${r.logs.lines} lines from every bridge process: ${r.logs.leaks.length} with message text, a token or a full phone number`);
  out.push(`duration: ${s(r.durationMs)}`);
  out.push(r.failures.length === 0 ? 'RESULT: PASS' : `RESULT: FAIL\n${r.failures.map((f) => `  - ${f}`).join('\n')}`);
  return out.join('\n');
}
