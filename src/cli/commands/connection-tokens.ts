/**
 * `connections check-token <id>` and `connections set-token <id>`: a connection's Meta token (POST
 * /admin/connections/:id/check-token, PUT /admin/connections/:id/token). Added to the `connections` command, so
 * this module is registered after it. The new token is read from a file or stdin, never from the command line,
 * where it would sit in the shell history and the process list.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CommandModule } from '../context';
import { CliError } from '../admin-client';
import { printRecord, progress } from '../output';

interface TokenAnswer extends Record<string, unknown> {
  health?: string;
  token?: Record<string, unknown>;
  check?: { outcome?: string; reason?: string };
  exchanged?: boolean;
}

function summary(answer: TokenAnswer): Record<string, unknown> {
  return {
    id: answer.id,
    health: answer.health,
    outcome: answer.check?.outcome,
    kind: answer.token?.kind,
    expiresAt: answer.token?.expiresAt,
    scopes: Array.isArray(answer.token?.scopes) ? (answer.token.scopes as string[]).join(',') : undefined,
    lastCheckedAt: answer.token?.lastCheckedAt,
    ...(answer.exchanged !== undefined ? { exchanged: answer.exchanged } : {}),
    ...(answer.token?.reason ? { reason: answer.token.reason } : {}),
  };
}

export const connectionTokenCommands: CommandModule = (program, ctx) => {
  const connections = program.commands.find((c: Command) => c.name() === 'connections');
  if (!connections) throw new Error('connectionTokenCommands must be registered after connectionCommands');

  connections.command('check-token')
    .description("ask Meta about the connection's token now: expiry, scopes; renews it when due, and lifts needs_reauth when Meta says it is valid")
    .argument('<id>', 'connection id')
    .action(async (id: string) => {
      const { client, out } = ctx();
      const answer = await client().request<TokenAnswer>('POST', `/connections/${encodeURIComponent(id)}/check-token`);
      if (out.json) printRecord(out, answer);
      else printRecord(out, summary(answer));
    });

  connections.command('set-token')
    .description("replace the connection's Meta token (Meta is asked first; a short-lived user token is exchanged for a long-lived one)")
    .argument('<id>', 'connection id')
    .requiredOption('--token-file <path>', "file holding the new token, or '-' for stdin")
    .option('--no-exchange', 'store a user token as given, even when short-lived')
    .action(async (id: string, o: { tokenFile: string; exchange: boolean }) => {
      const { client, out } = ctx();
      const token = (o.tokenFile === '-' ? readFileSync(0, 'utf8') : readFileSync(o.tokenFile, 'utf8')).trim();
      if (!token) throw new CliError(`${o.tokenFile === '-' ? 'stdin' : o.tokenFile} holds no token`);
      const body = { accessToken: token, ...(o.exchange ? {} : { exchange: false }) };
      const answer = await client().request<TokenAnswer>('PUT', `/connections/${encodeURIComponent(id)}/token`, body);
      if (out.json) printRecord(out, answer);
      else printRecord(out, summary(answer));
      if (!out.json) progress(`token of ${id} replaced${answer.exchanged ? ' (exchanged for a long-lived one)' : ''}`);
    });
};
