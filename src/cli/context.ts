/**
 * What every CLI command gets: the admin API client (built from --url/--key or the environment) and the
 * output mode. Built lazily, so `--help` works with nothing configured.
 */
import type { Command } from 'commander';
import { AdminClient } from './admin-client';
import type { Output } from './output';

export interface CliContext {
  client(): AdminClient;
  out: Output;
}

export type CommandModule = (program: Command, ctx: () => CliContext) => void;

export function contextOf(program: Command, env: NodeJS.ProcessEnv): CliContext {
  const opts = program.opts<{ url?: string; key?: string; json?: boolean }>();
  return {
    client: () => new AdminClient({
      url: opts.url ?? env.BRIDGE_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`,
      key: opts.key ?? env.BRIDGE_ADMIN_KEY ?? env.ADMIN_API_KEY ?? '',
    }),
    out: { json: Boolean(opts.json) },
  };
}
