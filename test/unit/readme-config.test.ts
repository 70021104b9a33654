import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withConfigTable, configTable } from '../../src/config-table';
import { SETTINGS } from '../../src/config';

test('the README configuration table matches the joi schema (run `npm run config:table` after changing a setting)', () => {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  assert.equal(withConfigTable(readme), readme);
  for (const s of SETTINGS) assert.ok(configTable().includes(`\`${s.env}\``), s.env);
});
