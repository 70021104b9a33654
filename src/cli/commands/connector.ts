/**
 * `connector …`: the Chatwoot connector (install, list, show, uninstall) and links to the channel connection page.
 * The Chatwoot admin token is read from stdin or a file, never from the command line, where shell history and
 * the process list would keep it.
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from '../context';
import { CliError } from '../admin-client';
import { printRecord, printRecords, progress } from '../output';

function readToken(o: { tokenStdin?: boolean; tokenFile?: string }): string {
  if (!o.tokenStdin && !o.tokenFile) throw new CliError('give the Chatwoot administrator token with --token-stdin or --token-file <path> (never on the command line)');
  const text = o.tokenStdin ? readFileSync(0, 'utf8') : readFileSync(o.tokenFile!, 'utf8');
  const token = text.trim();
  if (!token) throw new CliError(`the Chatwoot token from ${o.tokenStdin ? 'stdin' : o.tokenFile} is empty`);
  return token;
}

interface InstallationView { id: string; inboxes?: unknown[] }

export const connectorCommands: CommandModule = (program, ctx) => {
  const connector = program.command('connector').description('the Chatwoot connector: one installation per Chatwoot account, one inbox per connection');

  connector.command('install')
    .description('keep a Chatwoot administrator token for the account, and (with --connection) give that connection its own API inbox; safe to run again')
    .requiredOption('--base-url <url>', 'Chatwoot base URL, e.g. https://chat.example.com')
    .requiredOption('--account-id <id>', 'Chatwoot account id (in the dashboard URL: /app/accounts/<id>/…)')
    .option('--connection <id>', 'connection that gets its own inbox in this account')
    .option('--inbox-name <name>', 'name of a new inbox (default: the connection name)')
    .option('--tenant <id>', 'tenant (super-admin key, without --connection)')
    .option('--token-stdin', 'read the administrator token from stdin')
    .option('--token-file <path>', 'read the administrator token from a file')
    .action(async (o: { baseUrl: string; accountId: string; connection?: string; inboxName?: string; tenant?: string; tokenStdin?: boolean; tokenFile?: string }) => {
      const { client, out } = ctx();
      const accountId = Number(o.accountId);
      if (!Number.isInteger(accountId) || accountId < 1) throw new CliError('--account-id must be a positive whole number');
      const body = {
        baseUrl: o.baseUrl, accountId, adminToken: readToken(o),
        ...(o.connection ? { connectionId: o.connection } : {}),
        ...(o.inboxName ? { inboxName: o.inboxName } : {}),
        ...(o.tenant ? { tenantId: o.tenant } : {}),
      };
      progress('installing: checking the token, then the inbox…');
      const result = await client().request<{ installation: InstallationView; inbox?: Record<string, unknown> }>('POST', '/chatwoot/install', body);
      if (out.json) { printRecord(out, result); return; }
      printRecord(out, { installation: result.installation.id, ...(result.inbox ?? {}) });
    });

  connector.command('list')
    .description("list installations (a tenant key: that tenant's; the super-admin key: all)")
    .action(async () => {
      const { client, out } = ctx();
      const { installations } = await client().request<{ installations: Array<InstallationView & Record<string, unknown>> }>('GET', '/chatwoot/installations');
      if (out.json) { printRecords(out, installations, []); return; }
      printRecords(out, installations.map((i) => ({ ...i, inboxCount: i.inboxes?.length ?? 0 })), ['id', 'baseUrl', 'accountId', 'inboxCount', 'tenantId']);
    });

  connector.command('show')
    .description('show one installation and the inbox of each connection (never the token)')
    .argument('<id>', 'installation id')
    .action(async (id: string) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('GET', `/chatwoot/installations/${encodeURIComponent(id)}`));
    });

  connector.command('uninstall')
    .description("clear every inbox's webhook, then remove the installation and the connections it serves, with their tokens and secrets")
    .argument('<id>', 'installation id')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .option('--force', 'remove the bridge side even when Chatwoot cannot be reached (the webhooks left are named)')
    .action(async (id: string, o: { force?: boolean }) => {
      const { client, out } = ctx();
      const report = await client().request<{ webhooksCleared: number; webhooksLeft: number[]; connectionsDeleted: string[]; metaUnsubscribe?: Array<{ action?: string }> }>(
        'DELETE', `/chatwoot/installations/${encodeURIComponent(id)}${o.force ? '?force=true' : ''}`);
      if (out.json) printRecord(out, report);
      progress(`uninstalled ${id}: webhooks cleared: ${report.webhooksCleared}; connections removed: ${report.connectionsDeleted.length}`);
      if (report.webhooksLeft.length) progress(`Chatwoot could not be reached for inboxes ${report.webhooksLeft.join(', ')}: clear their webhook URL in Chatwoot's inbox settings.`);
      for (const action of new Set((report.metaUnsubscribe ?? []).flatMap((m) => (m.action ? [m.action] : [])))) progress(action);
    });

  connector.command('link')
    .description('print a short-lived link to the channel connection page (WhatsApp, Facebook Pages, Instagram) for an installation')
    .option('--installation <id>', "installation (default: the tenant's only one)")
    .option('--tenant <id>', 'tenant (super-admin key)')
    .action(async (o: { installation?: string; tenant?: string }) => {
      const { client, out } = ctx();
      const link = await client().request<{ url: string; expiresAt: string }>('POST', '/connect-links', {
        ...(o.installation ? { installationId: o.installation } : {}), ...(o.tenant ? { tenantId: o.tenant } : {}),
      });
      if (out.json) { printRecord(out, link); return; }
      process.stdout.write(`${link.url}\n`);
      progress(`valid until ${link.expiresAt}; whoever has it can connect channels for this tenant until then`);
    });
};
