/**
 * `npm run chaos` (chaos/run.sh starts the MongoDB-wire server and calls this): one chaos run, one report,
 * exit 0 only when every message and reply arrived exactly once and in order, and nothing leaked.
 */
import { Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { runChaos } from './scenario';
import { formatReport } from './report';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

const program = new Command('chaos')
  .description('Chaos run: messages and replies through two bridge processes while Chatwoot, Redis and a bridge fail')
  .option('--messages <n>', 'customer messages', positiveInt, 10_000)
  .option('--customers <n>', 'customers (each writes messages/customers, in order)', positiveInt, 500)
  .option('--replies <n>', 'agent replies', positiveInt, 2_000)
  .option('--rate <n>', 'customer messages offered per second', positiveInt, 20)
  .option('--in-flight <n>', 'webhook requests in flight at most', positiveInt, 64)
  .option('--seed <n>', 'seed of the faults draws', positiveInt, 1)
  .option('--stall-timeout <s>', 'give up waiting when nothing arrived for this many seconds', positiveInt, 180)
  .option('--no-faults', 'the same load without any fault, to see what the setup manages when nothing fails')
  .option('--json <file>', 'also write the full report as JSON')
  .option('--logs <file>', "write the bridge processes' log lines there")
  .parse();

async function main(): Promise<void> {
  const o = program.opts<{ messages: number; customers: number; replies: number; rate: number; inFlight: number; seed: number; stallTimeout: number; faults: boolean; json?: string; logs?: string }>();
  const mongoUri = process.env.MONGODB_URI;
  if (!mongoUri) throw new Error('MONGODB_URI is not set: run it as `npm run chaos` (chaos/run.sh starts the MongoDB-wire server)');
  if (o.customers === 0 || o.messages < o.customers * 2) throw new Error('--messages must be at least twice --customers');
  const report = await runChaos({
    faults: o.faults, messages: o.messages, customers: o.customers, replies: o.replies, seed: o.seed, ratePerSecond: o.rate, maxInFlight: o.inFlight,
    mongoUri, stallTimeoutMs: o.stallTimeout * 1000, settleMs: 5_000,
    progress: (l) => process.stderr.write(`chaos: ${l}\n`), logFile: o.logs,
  });
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\n`);
  process.exit(report.failures.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
