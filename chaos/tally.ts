/**
 * What the chaos run counts, from what was sent and what arrived (pure, so it is tested on its own):
 * delivered (distinct expected items that arrived), missing, duplicates (arrivals beyond the first of an item),
 * unexpected (arrivals nobody sent), out-of-order pairs (within one stream — a customer's messages at Chatwoot,
 * a conversation's replies at Graph — every pair that arrived in the reverse of the order it was sent in) and
 * the delay from sending to the first arrival.
 */

export interface SentItem {
  /** Unique id of the item (wamid, agent message id). */
  key: string;
  /** The stream whose order matters: one customer, one conversation. */
  stream: string;
  /** Position in its stream, in sending order. */
  seq: number;
  sentAt: number;
}

export interface Arrival {
  key: string;
  at: number;
}

export interface Tally {
  sent: number;
  delivered: number;
  missing: string[];
  duplicates: number;
  /** Each duplicated item with every time it arrived. */
  duplicated: Array<{ key: string; arrivals: number[] }>;
  unexpected: number;
  outOfOrderPairs: number;
  streamsOutOfOrder: number;
  delayMs: { p50: number; p99: number; max: number };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Pairs (i < j) with a[i] > a[j]: the number of swaps between what arrived and the order it was sent in. */
export function inversions(seqs: number[]): number {
  let n = 0;
  for (let i = 0; i < seqs.length; i += 1) {
    for (let j = i + 1; j < seqs.length; j += 1) if (seqs[i]! > seqs[j]!) n += 1;
  }
  return n;
}

/** `arrivals` in the order they arrived. */
export function tally(sent: SentItem[], arrivals: Arrival[]): Tally {
  const byKey = new Map(sent.map((s) => [s.key, s]));
  const seen = new Set<string>();
  const streams = new Map<string, number[]>();
  const delays: number[] = [];
  const arrivalsOf = new Map<string, number[]>();
  let duplicates = 0;
  let unexpected = 0;
  for (const a of arrivals) {
    const item = byKey.get(a.key);
    if (!item) { unexpected += 1; continue; }
    const times = arrivalsOf.get(a.key) ?? [];
    arrivalsOf.set(a.key, [...times, a.at]);
    if (seen.has(a.key)) { duplicates += 1; continue; }
    seen.add(a.key);
    delays.push(Math.max(0, a.at - item.sentAt));
    let seqs = streams.get(item.stream);
    if (!seqs) streams.set(item.stream, (seqs = []));
    seqs.push(item.seq);
  }
  let outOfOrderPairs = 0;
  let streamsOutOfOrder = 0;
  for (const seqs of streams.values()) {
    const n = inversions(seqs);
    outOfOrderPairs += n;
    if (n > 0) streamsOutOfOrder += 1;
  }
  delays.sort((a, b) => a - b);
  return {
    sent: sent.length,
    delivered: seen.size,
    missing: sent.filter((s) => !seen.has(s.key)).map((s) => s.key),
    duplicates,
    duplicated: [...arrivalsOf].filter(([, t]) => t.length > 1).map(([key, arrivals]) => ({ key, arrivals })),
    unexpected,
    outOfOrderPairs,
    streamsOutOfOrder,
    delayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays[delays.length - 1] ?? 0 },
  };
}

/**
 * Graph has no idempotency key: a send Graph accepted whose process died before the record was written would be
 * sent again by a blind retry. Between the two steps lies one database write (tens to hundreds of ms on a busy
 * FerretDB); 3 s bounds it generously. The bridge closes this window with Meta's status webhooks (send tags,
 * src/core/earlier-send.ts); the report still names duplicates found in it, to say where to look.
 */
export const SEND_RECORD_WINDOW_MS = 3_000;

/** Duplicates whose first copy arrived shortly before a SIGKILL and whose second came after it. */
export function inSigkillWindow(duplicated: Tally['duplicated'], kills: number[], windowMs = SEND_RECORD_WINDOW_MS): string[] {
  return duplicated
    .filter(({ arrivals: [first, second] }) => kills.some((k) => k >= first! && k - first! <= windowMs && second! > k))
    .map((d) => d.key);
}
