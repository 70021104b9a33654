/**
 * .env.example lists every setting a deployment may need, generated from the joi schema (`npm run config:table`
 * rewrites it), and, once its required values are filled in, is a configuration the bridge accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envExample } from '../../src/env-example';
import { SETTINGS, loadConfig } from '../../src/config';

const file = readFileSync(path.resolve(__dirname, '..', '..', '.env.example'), 'utf8');

/** KEY=value lines, commented (defaults) or not (to fill in). */
function entries(text: string): Array<{ key: string; value: string; commented: boolean }> {
  return [...text.matchAll(/^(# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({ key: m[2]!, value: m[3]!, commented: Boolean(m[1]) }));
}

test('.env.example is what src/config.ts generates (run `npm run config:table` after changing a setting)', () => {
  assert.equal(file, envExample());
});

test('.env.example names every setting once, and only settings the schema knows', () => {
  const keys = entries(file).map((e) => e.key);
  assert.deepEqual(keys, SETTINGS.map((s) => s.env));
});

test('the uncommented lines are exactly the required settings, and the commented defaults are accepted as they stand', () => {
  const required = SETTINGS.filter((s) => (s.schema.describe() as { flags?: { presence?: string } }).flags?.presence === 'required').map((s) => s.env);
  const lines = entries(file);
  assert.deepEqual(lines.filter((e) => !e.commented).map((e) => e.key), required);
  // What an operator does: fill in the required values, uncomment every default. The result must load.
  const filled: Record<string, string> = {
    META_APP_SECRET: 'app-secret-0123456789', META_VERIFY_TOKEN: 'verify-token-0123', ADMIN_API_KEY: 'admin-key-0123456789abcdef01',
    ENCRYPTION_KEYS: `${'B'.repeat(43)}=`, REDIS_URL: 'redis://redis:6379', MONGODB_URI: 'mongodb://mongo:27017/bridge',
  };
  const env: Record<string, string> = Object.fromEntries(lines.filter((e) => e.commented && e.value !== '').map((e) => [e.key, e.value]));
  for (const key of required) {
    assert.ok(filled[key], `a new required setting (${key}): give it a value in this test`);
    env[key] = filled[key]!;
  }
  const config = loadConfig(env);
  assert.equal(config.port, 3000);
  assert.equal(config.metrics.token, undefined, 'the example leaves /metrics on loopback only');
});
