import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withTroubleshootingTables, troubleshootingTables } from '../../src/docs/troubleshooting';
import { whatsappErrorCatalogue } from '../../src/channels/whatsapp/error-reasons';
import { sendApiErrorCatalogue } from '../../src/channels/meta/send-api-errors';

test('the README troubleshooting tables match the error catalogues (run `npm run config:table` after changing one)', () => {
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  assert.equal(withTroubleshootingTables(readme), readme);
  const tables = troubleshootingTables();
  for (const { code } of [...whatsappErrorCatalogue(), ...sendApiErrorCatalogue()]) assert.match(tables, new RegExp(`\\n\\| ${code.replace('/', '\\/')} \\|`), code);
  assert.match(tables, /\| 131047 \| Re-engagement message \|/);
  assert.match(tables, /\| 190 \| .*needs_reauth/);
});
