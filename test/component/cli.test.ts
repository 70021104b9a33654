/**
 * The admin CLI, run as a real process against a running bridge: every command's happy path, --help, and the
 * errors an admin meets first (no key, wrong key, bridge not running, unknown command).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACCOUNT_ID, ADMIN_KEY, CHATWOOT_TOKEN, META_TOKEN, startHarness, type Harness } from '../support/harness';
import { runCli } from '../support/cli';
import { freePort } from '../support/processes';

type Json = Record<string, any>;

describe('admin CLI (tenants, connections)', () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await startHarness();
    env = { BRIDGE_URL: h.baseUrl, BRIDGE_ADMIN_KEY: ADMIN_KEY };
  });
  after(async () => h.stop());

  test('when --help is asked at any level, then it prints usage and exits 0', async () => {
    for (const args of [['--help'], ['tenants', '--help'], ['connections', 'add', '--help'], ['keys', 'rotate', '--help']]) {
      const run = await runCli(args, {});
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stdout, /Usage: meta-crm-bridge/);
    }
  });

  test('when a tenant is created, listed, shown, re-keyed and deleted from the CLI, then the admin API agrees', async () => {
    const created = await runCli(['--json', 'tenants', 'create', '--name', 'CLI tenant'], env);
    assert.equal(created.code, 0, created.stderr);
    const tenant = JSON.parse(created.stdout) as Json;
    assert.match(tenant.apiKey, /^tk_/);
    const listed = await runCli(['tenants', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${tenant.id}\\s+CLI tenant`));
    assert.ok(!listed.stdout.includes(tenant.apiKey));
    const self = await runCli(['--json', '--key', tenant.apiKey, 'tenants', 'show'], env);
    assert.equal(JSON.parse(self.stdout).id, tenant.id);
    const rekeyed = await runCli(['--json', 'tenants', 'rotate-key', tenant.id], env);
    assert.equal(rekeyed.code, 0, rekeyed.stderr);
    const old = await runCli(['--key', tenant.apiKey, 'tenants', 'show'], env);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /401 unauthorized/);
    assert.equal((await runCli(['tenants', 'delete', tenant.id], env)).code, 1, 'delete needs --yes');
    const deleted = await runCli(['tenants', 'delete', tenant.id, '--yes'], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /deleted/);
    const gone = await runCli(['tenants', 'show', tenant.id], env);
    assert.match(gone.stderr, /404 not_found/);
  });

  test('when a connection is added from a file, listed, shown and removed from the CLI, then it exists exactly that long', async () => {
    const tenant = JSON.parse((await runCli(['--json', 'tenants', 'create', '--name', 'Conn tenant'], env)).stdout) as Json;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    const file = path.join(dir, 'conn.json');
    writeFileSync(file, JSON.stringify({
      name: 'From CLI', channel: 'whatsapp', businessId: '3000000001', metaAccessToken: META_TOKEN,
      platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: CHATWOOT_TOKEN },
    }));
    const tenantEnv = { ...env, BRIDGE_ADMIN_KEY: tenant.apiKey };
    const added = await runCli(['--json', 'connections', 'add', '--file', file], tenantEnv);
    assert.equal(added.code, 0, added.stderr);
    const conn = JSON.parse(added.stdout) as Json;
    assert.equal(conn.tenantId, tenant.id);
    assert.ok(!added.stdout.includes(META_TOKEN) && !added.stdout.includes(CHATWOOT_TOKEN), 'secrets never come back');
    const listed = await runCli(['connections', 'list'], tenantEnv);
    assert.match(listed.stdout, new RegExp(`${conn.id}\\s+${tenant.id}\\s+whatsapp\\s+3000000001\\s+chatwoot\\s+ok`));
    assert.equal(listed.stdout.trim().split('\n').length, 2, 'header + only this tenant\'s connection');
    const shown = await runCli(['connections', 'show', conn.id], tenantEnv);
    assert.match(shown.stdout, /businessId: 3000000001/);
    const bad = await runCli(['connections', 'add', '--file', '-'], tenantEnv, '{"name": "x"}');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /400 invalid_request invalid connection: "channel" is required/);
    const removed = await runCli(['connections', 'remove', conn.id, '--yes'], tenantEnv);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match((await runCli(['connections', 'show', conn.id], tenantEnv)).stderr, /404/);
  });

  test('when a key is generated, then it is a fresh Fernet key each time (and needs no bridge)', async () => {
    const [one, two] = [await runCli(['keys', 'generate'], {}), await runCli(['keys', 'generate'], {})];
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^[A-Za-z0-9_-]{43}=\n$/);
    assert.notEqual(one.stdout, two.stdout);
  });

  test("when a tenant shows its privacy settings, then it sees its own and not another tenant's", async () => {
    const t = JSON.parse((await runCli(['--json', 'tenants', 'create', '--name', 'Privacy tenant'], env)).stdout) as Json;
    const other = JSON.parse((await runCli(['--json', 'tenants', 'create', '--name', 'Other tenant'], env)).stdout) as Json;
    const mine = await runCli(['--json', '--key', t.apiKey, 'privacy', 'show', t.id], env);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(typeof JSON.parse(mine.stdout), 'object');
    const theirs = await runCli(['--key', t.apiKey, 'privacy', 'show', other.id], env);
    assert.equal(theirs.code, 1);
    assert.match(theirs.stderr, /404/);
  });

  test('when the key is missing, the bridge is down or the command is unknown, then one clear line and exit 1', async () => {
    const noKey = await runCli(['connections', 'list'], { BRIDGE_URL: h.baseUrl });
    assert.deepEqual([noKey.code, /no admin key: pass --key/.test(noKey.stderr)], [1, true]);
    const down = await runCli(['connections', 'list'], { BRIDGE_URL: `http://127.0.0.1:${await freePort()}`, BRIDGE_ADMIN_KEY: ADMIN_KEY });
    assert.deepEqual([down.code, /cannot reach the bridge at/.test(down.stderr)], [1, true]);
    const unknown = await runCli(['frobnicate'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    for (const run of [noKey, down, unknown]) assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace for an expected error');
  });
});
