/**
 * What reached the fakes, read from the fakes themselves at the end of a chaos run: customer messages Chatwoot
 * holds (by Meta id, in creation order) and agent replies Graph accepted (by the reply key in their text).
 */
import type { FakeChatwoot } from '../test/fakes/chatwoot';
import type { FakeGraph } from '../test/fakes/graph';
import { ACCOUNT_ID } from '../test/support/harness';
import type { Arrival } from './tally';
import { replyKeyIn } from './workload';

const INCOMING = 0;

export function customerMessagesAtChatwoot(chatwoot: FakeChatwoot): Arrival[] {
  return chatwoot.messages(ACCOUNT_ID)
    .filter((m) => m.message_type === INCOMING && m.source_id)
    .map((m) => ({ key: m.source_id!, at: m.created_at }));
}

export function repliesAtGraph(graph: FakeGraph, marker: string, from = 0): Arrival[] {
  const arrivals: Arrival[] = [];
  for (const s of graph.sent.slice(from)) {
    const key = replyKeyIn(String((s.body.text as { body?: string } | undefined)?.body ?? ''), marker);
    if (key) arrivals.push({ key, at: s.at });
  }
  return arrivals;
}

/** How many customers ended up with more than one Chatwoot conversation (a doubled contact or conversation). */
export function customersWithSeveralConversations(chatwoot: FakeChatwoot): number {
  const perContact = new Map<number, number>();
  for (const c of chatwoot.conversations(ACCOUNT_ID)) perContact.set(c.contact_id, (perContact.get(c.contact_id) ?? 0) + 1);
  return [...perContact.values()].filter((n) => n > 1).length;
}
