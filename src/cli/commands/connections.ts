/** `connections …`: list, show, add (JSON as the admin API takes it), remove. */
import { readFileSync } from 'node:fs';
import type { CommandModule } from '../context';
import { CliError } from '../admin-client';
import { printRecord, printRecords, progress } from '../output';

function readJson(file: string): unknown {
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${file === '-' ? 'stdin' : file} is not valid JSON`);
  }
}

export const connectionCommands: CommandModule = (program, ctx) => {
  const connections = program.command('connections').description("Meta numbers, Pages and Instagram accounts wired to a platform inbox");

  connections.command('list')
    .description("list connections (a tenant key: that tenant's; the super-admin key: all)")
    .action(async () => {
      const { client, out } = ctx();
      const { connections: list } = await client().request<{ connections: Array<Record<string, unknown>> }>('GET', '/connections');
      printRecords(out, list, ['id', 'tenantId', 'channel', 'businessId', 'platform.kind', 'health', 'name']);
    });

  connections.command('show')
    .description('show one connection (never its secrets)')
    .argument('<id>', 'connection id')
    .action(async (id: string) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('GET', `/connections/${encodeURIComponent(id)}`));
    });

  connections.command('add')
    .description('add a connection from a JSON file shaped like the POST /admin/connections body (README: "Admin API")')
    .requiredOption('--file <path>', "JSON file, or '-' for stdin")
    .option('--tenant <id>', 'owning tenant (super-admin key only)')
    .action(async (o: { file: string; tenant?: string }) => {
      const { client, out } = ctx();
      const body = readJson(o.file) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliError('the connection JSON must be an object');
      const created = await client().request('POST', '/connections', o.tenant ? { ...body, tenantId: o.tenant } : body);
      printRecord(out, created);
      if (!out.json && JSON.stringify(created).includes('"apiKey"')) progress('Secrets above are shown once; the bridge keeps only hashes or ciphertext.');
    });

  connections.command('remove')
    .description('remove a connection and erase its tokens, records, mappings and queued jobs')
    .argument('<id>', 'connection id')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async (id: string) => {
      const { client, out } = ctx();
      const res = await client().request<{ metaUnsubscribe?: { outcome: string; subscription?: string; action?: string } }>('DELETE', `/connections/${encodeURIComponent(id)}`);
      if (out.json) printRecord(out, res);
      const meta = res.metaUnsubscribe;
      progress(`removed ${id}${meta ? `; unsubscribe at Meta${meta.subscription ? ` (${meta.subscription})` : ''}: ${meta.outcome}` : ''}`);
      if (meta?.action) progress(meta.action);
    });
};
