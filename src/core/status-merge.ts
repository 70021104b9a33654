/**
 * Delivery statuses only move forward: sent < delivered < read, and failed is final. Meta sends them out of
 * order (read before delivered, delivered suppressed), so every update is a merge, never an overwrite.
 */
import type { DeliveryStatus } from './events';

export type TrackedStatus = DeliveryStatus | 'pending';

const RANK: Record<TrackedStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

export function statusRank(status: TrackedStatus): number {
  return RANK[status];
}

/** The status after `incoming` arrives on top of `current`. */
export function mergeStatus(current: TrackedStatus, incoming: TrackedStatus): TrackedStatus {
  if (current === 'failed') return 'failed';
  return RANK[incoming] > RANK[current] ? incoming : current;
}

/**
 * One platform message may have gone out as several WhatsApp messages (text, then each attachment). The agent
 * sees the least advanced of them, and failed as soon as any part failed.
 */
export function aggregateStatus(parts: TrackedStatus[]): TrackedStatus {
  if (parts.length === 0) return 'pending';
  if (parts.includes('failed')) return 'failed';
  return parts.reduce((least, s) => (RANK[s] < RANK[least] ? s : least));
}
