/**
 * PRIVACY.md is generated where it can be, and kept honest where it cannot: its table matches the inventory and
 * the retention settings' schemas, every retention setting and every MongoDB collection the code declares is in
 * the inventory, and a changed retention default or bound makes the document stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Joi from 'joi';
import { SETTINGS, loadSettings, ConfigError } from '../../src/config';
import { STORED_DATA } from '../../src/privacy/inventory';
import { boundsOf, privacyTable, withPrivacyTable } from '../../src/privacy/privacy-table';

const ROOT = path.resolve(__dirname, '..', '..');
const doc = readFileSync(path.join(ROOT, 'PRIVACY.md'), 'utf8');

test('the PRIVACY.md table matches the inventory and the retention settings (run `npm run privacy:table` after changing either)', () => {
  assert.equal(withPrivacyTable(doc), doc);
});

test('every RETENTION_* setting is in the inventory, and every setting the inventory names exists with a bound', () => {
  const named = new Set(STORED_DATA.flatMap((d) => ('setting' in d.retention ? [d.retention.setting] : [])));
  for (const s of SETTINGS.filter((x) => x.env.startsWith('RETENTION_'))) {
    assert.ok(named.has(s.env), `${s.env} is not in src/privacy/inventory.ts`);
    assert.ok(boundsOf(s.env).max !== undefined, `${s.env} has no documented maximum`);
  }
  for (const env of named) assert.ok(SETTINGS.some((s) => s.env === env), `${env} is not a setting`);
});

test('no retention can be set past its documented maximum: the configuration refuses it at start-up', () => {
  for (const s of SETTINGS.filter((x) => x.env.startsWith('RETENTION_'))) {
    const { max } = boundsOf(s.env);
    assert.equal(loadSettings({ [s.env]: String(max) }, [s.env])[s.env], max);
    assert.throws(() => loadSettings({ [s.env]: String(max! + 1) }, [s.env]), ConfigError, `${s.env}=${max! + 1} is accepted`);
    assert.ok(doc.includes(`\`${s.env}\``), `PRIVACY.md does not name ${s.env}`);
  }
});

test('every MongoDB collection declared in src/store is in the inventory', () => {
  const dir = path.join(ROOT, 'src', 'store');
  const declared = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(path.join(dir, file), 'utf8').matchAll(/collection: '([a-z_]+)'/g)) declared.add(m[1]!);
  }
  assert.ok(declared.size >= 15, `only ${declared.size} collections found: did the declaration style change?`);
  const listed = new Set(STORED_DATA.filter((d) => d.store === 'MongoDB').map((d) => d.name));
  for (const c of declared) assert.ok(listed.has(c), `collection ${c} is not in src/privacy/inventory.ts`);
});

test('when a retention default or bound changes, the generated document changes with it', () => {
  const changed = (env: string, schema: Joi.Schema) => SETTINGS.map((s) => (s.env === env ? { ...s, schema } : s));
  assert.notEqual(privacyTable(changed('RETENTION_DELIVERY_RECORD_DAYS', Joi.number().min(1).max(90).default(5))), privacyTable());
  assert.notEqual(privacyTable(changed('RETENTION_AUDIT_DAYS', Joi.number().min(1).max(400).default(365))), privacyTable());
  assert.notEqual(withPrivacyTable(doc, changed('RETENTION_DEAD_LETTER_DAYS', Joi.number().min(1).max(90).default(30))), doc);
});
