#!/usr/bin/env node
/**
 * The admin CLI (`npx meta-crm-bridge …`, or `npm run cli -- …` in a checkout). Most commands call a running
 * bridge's admin API (--url/BRIDGE_URL, --key/BRIDGE_ADMIN_KEY); `keys` works on MongoDB directly with the
 * bridge's own configuration. One readable line and exit code 1 on any error.
 */
import { Command, CommanderError } from 'commander';
import { CliError } from './admin-client';
import { ConfigError } from '../config';
import { contextOf, type CommandModule } from './context';
import { tenantCommands } from './commands/tenants';
import { connectionCommands } from './commands/connections';
import { connectionTokenCommands } from './commands/connection-tokens';
import { keyCommands } from './commands/keys';
import { connectorCommands } from './commands/connector';
import { deadLetterCommands } from './commands/dead-letters';
import { privacyCommands } from './commands/privacy';

const MODULES: CommandModule[] = [tenantCommands, connectionCommands, connectionTokenCommands, keyCommands, deadLetterCommands, connectorCommands, privacyCommands];

export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('meta-crm-bridge')
    .description('Admin CLI of the Meta ⇄ CRM bridge')
    .option('--url <url>', 'bridge base URL (default: BRIDGE_URL, else http://127.0.0.1:$PORT or :8080)')
    .option('--key <key>', 'admin API key: super-admin or tenant (default: BRIDGE_ADMIN_KEY, else ADMIN_API_KEY)')
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError()
    .exitOverride();
  for (const register of MODULES) register(program, () => contextOf(program, env));
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
      return;
    }
    const known = err instanceof CliError || err instanceof ConfigError || ['KeyMismatch', 'InvalidFernetKey', 'MongoServerSelectionError'].includes((err as Error).name);
    process.stderr.write(`error: ${known ? (err as Error).message : `unexpected: ${(err as Error).stack ?? String(err)}`}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
