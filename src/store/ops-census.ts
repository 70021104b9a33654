/**
 * Read-only counts for /metrics, taken at scrape time. They read ids, channels and states only — never a
 * sealed secret — so nothing is decrypted for a scrape, and each is one cheap query (a few hundred connections,
 * dead letters that expire after RETENTION_DEAD_LETTER_DAYS).
 */
import type { Model } from 'mongoose';
import type { ConnectionHealth } from './connections';
import type { ChannelKind } from '../core/events';

export interface ConnectionHealthRow {
  id: string;
  channel: ChannelKind;
  health: ConnectionHealth;
}

export async function connectionHealthRows(connections: Model<any>): Promise<ConnectionHealthRow[]> {
  const docs = await connections.find({}, { _id: 1, channel: 1, health: 1 })
    .lean<Array<{ _id: string; channel: ChannelKind; health?: ConnectionHealth }>>();
  // A document written before `health` existed reads as ok, as the schema's default would make it.
  return docs.map((d) => ({ id: String(d._id), channel: d.channel, health: d.health ?? 'ok' }));
}

export type DeadLetterCounts = Record<'inbound' | 'outbound', number>;

export async function deadLetterCounts(deadLetters: Model<any>): Promise<DeadLetterCounts> {
  const [inbound, outbound] = await Promise.all([
    deadLetters.countDocuments({ direction: 'inbound' }),
    deadLetters.countDocuments({ direction: 'outbound' }),
  ]);
  return { inbound, outbound };
}
