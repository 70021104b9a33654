/**
 * The bridge as production runs it — compiled JavaScript, no TypeScript loader in the process (tsx alone adds
 * ~40 MB of RSS and start-up time) — built in about a second with esbuild (present as tsx's own dependency):
 * src/main.ts bundled into one file with every npm package left external, plus the wait profiler and the
 * baseline server (built the same way, so the comparison is like for like). The output
 * goes under dist/ (ignored by git), so node finds node_modules from there.
 */
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const BUILD_DIR = path.join(ROOT, 'dist', 'bench-bridge');

export interface BridgeBuild {
  main: string;
  waitProfile: string;
  baseline: string;
}

export async function buildBridge(): Promise<BridgeBuild> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', sourcemap: true, keepNames: true, logLevel: 'warning' } as const;
  const main = path.join(BUILD_DIR, 'main.js');
  const waitProfile = path.join(BUILD_DIR, 'wait-profile.js');
  const baseline = path.join(BUILD_DIR, 'baseline-server.js');
  await Promise.all([
    esbuild.build({ ...common, entryPoints: [path.join(__dirname, 'baseline-server.ts')], outfile: baseline }),
    esbuild.build({ ...common, entryPoints: [path.join(ROOT, 'src', 'main.ts')], outfile: main }),
    esbuild.build({ ...common, entryPoints: [path.join(__dirname, 'wait-profile.ts')], outfile: waitProfile }),
  ]);
  return { main, waitProfile, baseline };
}
