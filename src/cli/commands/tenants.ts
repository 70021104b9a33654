/** `tenants …`: create, list, replace a key, delete (super-admin key; a tenant may show itself and replace its key). */
import type { CommandModule } from '../context';
import { printRecord, printRecords, progress } from '../output';

export const tenantCommands: CommandModule = (program, ctx) => {
  const tenants = program.command('tenants').description('tenants own connections; each has its own admin key');

  tenants.command('create')
    .description('create a tenant and print its admin key (shown once: store it now)')
    .requiredOption('--name <name>', 'display name')
    .action(async (o: { name: string }) => {
      const { client, out } = ctx();
      const created = await client().request('POST', '/tenants', { name: o.name });
      printRecord(out, created);
      if (!out.json) progress('The apiKey above is shown once; the bridge keeps only its hash.');
    });

  tenants.command('list')
    .description('list tenants (super-admin key)')
    .action(async () => {
      const { client, out } = ctx();
      const { tenants: list } = await client().request<{ tenants: Array<Record<string, unknown>> }>('GET', '/tenants');
      printRecords(out, list, ['id', 'name', 'createdAt']);
    });

  tenants.command('show')
    .description('show the tenant the key belongs to, or one tenant by id')
    .argument('[id]', 'tenant id (super-admin key)')
    .action(async (id: string | undefined) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('GET', id ? `/tenants/${encodeURIComponent(id)}` : '/tenant'));
    });

  tenants.command('rotate-key')
    .description("replace a tenant's admin key; the old key stops working at once")
    .argument('<id>', 'tenant id')
    .action(async (id: string) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('POST', `/tenants/${encodeURIComponent(id)}/api-key`));
    });

  tenants.command('delete')
    .description('delete a tenant with every connection, token, record and queued job it owns')
    .argument('<id>', 'tenant id')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async (id: string) => {
      const { client, out } = ctx();
      progress(`deleting tenant ${id} and everything it owns…`);
      const res = await client().request<{ metaUnsubscribe?: Array<{ action?: string }> }>('DELETE', `/tenants/${encodeURIComponent(id)}`);
      if (out.json) printRecord(out, res);
      progress('deleted');
      for (const action of new Set((res.metaUnsubscribe ?? []).flatMap((m) => (m.action ? [m.action] : [])))) progress(action);
    });
};
