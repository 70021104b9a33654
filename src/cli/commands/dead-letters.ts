/** `dead-letters …`: list, show, replay (one, or a connection's), discard. What they hold stays sealed on the server. */
import type { CommandModule } from '../context';
import { CliError } from '../admin-client';
import { printRecord, printRecords, progress } from '../output';

type Json = Record<string, unknown>;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--limit must be a whole number of at least 1, not ${value}`);
  return n;
}

export const deadLetterCommands: CommandModule = (program, ctx) => {
  const letters = program.command('dead-letters').description('work the bridge gave up on: look, replay once the cause is fixed, or discard');

  letters.command('list')
    .description("list dead letters, latest first (a tenant key: that tenant's connections; the super-admin key: all)")
    .option('--connection <id>', 'only this connection')
    .option('--direction <direction>', 'inbound (customer → platform) or outbound (agent → Meta)')
    .option('--limit <n>', 'at most this many (max 500)', positiveInt)
    .action(async (o: { connection?: string; direction?: string; limit?: number }) => {
      const { client, out } = ctx();
      const query = new URLSearchParams();
      if (o.connection) query.set('connectionId', o.connection);
      if (o.direction) query.set('direction', o.direction);
      if (o.limit) query.set('limit', String(o.limit));
      const qs = query.size > 0 ? `?${query}` : '';
      const { deadLetters } = await client().request<{ deadLetters: Json[] }>('GET', `/dead-letters${qs}`);
      printRecords(out, deadLetters, ['id', 'connectionId', 'direction', 'kind', 'attempts', 'createdAt', 'reason']);
    });

  letters.command('show')
    .description('show one dead letter: ids, reason, attempts and what it was about (never its content)')
    .argument('<id>', 'dead letter id')
    .action(async (id: string) => {
      const { client, out } = ctx();
      printRecord(out, await client().request('GET', `/dead-letters/${encodeURIComponent(id)}`));
    });

  letters.command('replay')
    .description('put a dead letter back into its lane (no second copy is made); with --connection, all of that connection\'s, oldest first')
    .argument('[id]', 'dead letter id')
    .option('--connection <id>', "replay this connection's dead letters instead of one")
    .option('--limit <n>', 'with --connection: at most this many (default 100, max 500)', positiveInt)
    .action(async (id: string | undefined, o: { connection?: string; limit?: number }) => {
      const { client, out } = ctx();
      if (Boolean(id) === Boolean(o.connection)) throw new CliError('give either a dead letter id or --connection <id>');
      if (id) {
        const result = await client().request<Json>('POST', `/dead-letters/${encodeURIComponent(id)}/replay`);
        if (out.json) printRecord(out, result);
        else progress(result.outcome === 'queued' ? `replayed ${id}: back in its lane` : `${id} was delivered meanwhile; nothing queued, dead letter removed`);
        return;
      }
      progress(`replaying the dead letters of ${o.connection}…`);
      const result = await client().request<{ replayed: Json[]; refused: Json[] }>('POST', '/dead-letters/replay', {
        connectionId: o.connection, ...(o.limit ? { limit: o.limit } : {}),
      });
      if (out.json) {
        printRecord(out, result);
        return;
      }
      printRecords(out, [...result.replayed, ...result.refused.map((r) => ({ id: r.id, outcome: 'refused', reason: r.reason }))], ['id', 'outcome', 'reason']);
      progress(`${result.replayed.length} replayed, ${result.refused.length} refused`);
    });

  letters.command('discard')
    .description('delete a dead letter without replaying it')
    .argument('<id>', 'dead letter id')
    .requiredOption('--yes', 'confirm: its content is gone for good')
    .action(async (id: string) => {
      const { client } = ctx();
      await client().request('DELETE', `/dead-letters/${encodeURIComponent(id)}`);
      progress(`discarded ${id}`);
    });
};
