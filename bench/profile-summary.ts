/**
 * Reads a V8 CPU profile (`npm run bench -- --profile DIR` writes one per bridge process) and prints where the
 * process spent its CPU: self time by package or source file, then the hottest functions.
 *
 *   node --import tsx bench/profile-summary.ts DIR/bench…-web.cpuprofile [top=20]
 */
import { readFileSync } from 'node:fs';
import { table } from './stats';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** node_modules/<pkg> (scoped too), a file of ours, node's internals, or V8's own buckets ((idle), (garbage collector)…). */
export function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(src|bench|dist\/bench-bridge)\/(.+)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

export function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { callFrame: f } = byId.get(id)!;
    const group = groupOf(f.url, f.functionName);
    groups.set(group, (groups.get(group) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${f.url ? `${group}:${f.lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`;
  const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => [k, pct(us), `${(us / 1000).toFixed(0)} ms`]);
  return [
    `profile of ${(total / 1e6).toFixed(1)} s`,
    '',
    table(['where (self time)', 'share', 'time'], rows(groups)),
    '',
    table(['function', 'share', 'time'], rows(functions)),
  ].join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top]');
    process.exit(2);
  }
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 20)));
}
