/**
 * Audit coverage: every admin route that changes something records an audit event (who did what, when). Read from
 * the route definitions in src/http/admin/, so a new POST/PUT/PATCH/DELETE route without `audit.record(` — in its
 * handler, or in a function of the same file that the handler calls — fails here before it ships. What the events
 * contain (ids and counts, never content) is checked by the component tests that trigger them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const DIR = path.resolve(__dirname, '..', '..', 'src', 'http', 'admin');
const ROUTE = /\n\s*router\.(post|put|patch|delete)\(\s*'([^']+)'/g;

/** Functions declared in the file whose body records an audit event. */
function auditingFunctions(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/(?:async\s+)?function\s+(\w+)\s*\(/g)) {
    const rest = source.slice(m.index! + m[0].length);
    const end = rest.search(/\n\s*(?:async\s+)?function\s+\w+\s*\(|\n}\n/);
    if ((end < 0 ? rest : rest.slice(0, end)).includes('audit.record(')) names.push(m[1]!);
  }
  return names;
}

test('every mutating admin route records an audit event', () => {
  const routes: string[] = [];
  const missing: string[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(path.join(DIR, file), 'utf8');
    const helpers = auditingFunctions(source);
    const matches = [...source.matchAll(ROUTE)];
    matches.forEach((m, i) => {
      const body = source.slice(m.index!, matches[i + 1]?.index ?? source.length).split(/\n\s*return router;/)[0]!;
      const route = `${m[1]!.toUpperCase()} /admin${m[2]} (${file})`;
      routes.push(route);
      const audited = body.includes('audit.record(') || helpers.some((h) => new RegExp(`\\b${h}\\(`).test(body));
      if (!audited) missing.push(route);
    });
  }
  // Guards the scan itself: tenants, connections, erasure and privacy settings at least.
  assert.ok(routes.length >= 8, `only ${routes.length} mutating routes found: did the route style change?\n${routes.join('\n')}`);
  for (const expected of ['POST /admin/erasure', 'PUT /admin/tenants/:id/privacy', 'DELETE /admin/tenants/:id', 'DELETE /admin/connections/:id']) {
    assert.ok(routes.some((r) => r.startsWith(expected)), `${expected} not found`);
  }
  assert.deepEqual(missing, [], 'these routes change something without an audit event');
});
