/** `erase-user …` and `privacy …`: erase one end user, and a tenant's privacy settings (admin API, tenant-scoped). */
import type { CommandModule } from '../context';
import { CliError } from '../admin-client';
import { printRecord, progress } from '../output';

function onOff(value: string): boolean {
  if (/^(on|true|yes)$/i.test(value)) return true;
  if (/^(off|false|no)$/i.test(value)) return false;
  throw new CliError(`expected on or off, got "${value}"`);
}

export const privacyCommands: CommandModule = (program, ctx) => {
  program.command('erase-user')
    .description("erase everything the bridge holds for one end user of a connection: records, mappings, queued work (and, when the tenant enabled it, the platform contact)")
    .argument('<connectionId>', 'the connection the user wrote to')
    .argument('<customerId>', 'phone number (any format), PSID, IGSID or BSUID')
    .option('--erase-contact', 'also erase the platform contact, whatever the tenant setting')
    .option('--keep-contact', 'keep the platform contact, whatever the tenant setting')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async (connectionId: string, customerId: string, o: { eraseContact?: boolean; keepContact?: boolean }) => {
      if (o.eraseContact && o.keepContact) throw new CliError('--erase-contact and --keep-contact exclude each other');
      const { client, out } = ctx();
      progress(`erasing one end user of ${connectionId}…`);
      const body: Record<string, unknown> = { connectionId, customerId };
      if (o.eraseContact || o.keepContact) body.eraseContact = Boolean(o.eraseContact);
      const report = await client().request<Record<string, unknown>>('POST', '/erasure', body);
      printRecord(out, report);
      const platform = report.platform as { outcome?: string; note?: string } | undefined;
      if (!out.json && platform?.note) progress(`platform: ${platform.outcome}: ${platform.note}`);
      if (platform?.outcome === 'failed') process.exitCode = 1;
    });

  const privacy = program.command('privacy').description("a tenant's privacy settings");

  privacy.command('show')
    .description('show the privacy settings of a tenant')
    .argument('<tenantId>', 'tenant id (a tenant key: its own)')
    .action(async (tenantId: string) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('GET', `/tenants/${encodeURIComponent(tenantId)}/privacy`));
    });

  privacy.command('set')
    .description('change the privacy settings of a tenant')
    .argument('<tenantId>', 'tenant id (a tenant key: its own)')
    .requiredOption('--erase-contacts <on|off>', 'when an end user is erased, erase their platform contact too', onOff)
    .action(async (tenantId: string, o: { eraseContacts: boolean }) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('PUT', `/tenants/${encodeURIComponent(tenantId)}/privacy`, { eraseContactsOnPlatform: o.eraseContacts }));
    });
};
