/**
 * How the CLI prints: a plain table for people (default), or the JSON the admin API returned (--json) for
 * scripts. Progress goes to stderr so stdout stays parseable.
 */
export interface Output {
  json: boolean;
}

export function printRecords(out: Output, records: Array<Record<string, unknown>>, columns: string[]): void {
  if (out.json) {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return;
  }
  if (records.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (r: Record<string, unknown>, c: string) => {
    const v = c.split('.').reduce<unknown>((n, p) => (n as Record<string, unknown> | undefined)?.[p], r);
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  const widths = columns.map((c) => Math.max(c.length, ...records.map((r) => cell(r, c).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${line(columns)}\n${records.map((r) => line(columns.map((c) => cell(r, c)))).join('\n')}\n`);
}

export function printRecord(out: Output, record: Record<string, unknown>): void {
  if (out.json) {
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(record)) {
    process.stdout.write(`${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
  }
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
