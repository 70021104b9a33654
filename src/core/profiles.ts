/**
 * Names and pictures for customers whose webhooks carry only an id (Messenger PSID, Instagram IGSID): fetched
 * once per customer, when the customer is first seen, so the platform contact is created with them. A failed
 * fetch never holds a message back: the contact is created under the id, and the fetch is tried again with the
 * customer's next message after a growing pause; when it then succeeds, the contact is updated.
 */
import type { CustomerRef } from './events';
import type { ConnectionRecord } from '../store/connections';
import type { ProfileStateRepository } from '../store/profiles';
import type { Logger } from '../log/logger';
import { errorMessage } from './errors';

export type CustomerProfile = Pick<CustomerRef, 'name' | 'username' | 'avatarUrl'>;

export interface ResolvedCustomer {
  customer: CustomerRef;
  /** The profile arrived after an earlier failure: the platform contact (created under the id) should be updated. */
  late: boolean;
}

/** First retry after 5 minutes, doubling, at most a day apart. */
export function profileRetryDelayMs(failures: number): number {
  return Math.min(24 * 3600_000, 5 * 60_000 * 2 ** Math.max(0, failures - 1));
}

export class ProfileResolver {
  constructor(
    private readonly deps: {
      state: ProfileStateRepository;
      /** The channel's profile lookup; undefined when the channel has none (WhatsApp names come in the webhook). */
      fetcher: (conn: ConnectionRecord) => ((customerId: string) => Promise<CustomerProfile>) | undefined;
    },
  ) {}

  async resolve(conn: ConnectionRecord, customer: CustomerRef, log: Logger, now = new Date()): Promise<ResolvedCustomer> {
    const fetch = this.deps.fetcher(conn);
    if (!fetch || customer.name) return { customer, late: false };
    const before = await this.deps.state.get(conn.id, customer.id);
    if (before?.state === 'fetched') return { customer, late: false };
    if (before?.state === 'failed' && before.retryAt && before.retryAt > now) return { customer, late: false };
    try {
      const profile = await fetch(customer.id);
      await this.deps.state.fetched(conn.id, customer.id, now);
      const named: CustomerRef = { ...customer };
      if (profile.name) named.name = profile.name;
      if (profile.username) named.username = profile.username;
      if (profile.avatarUrl) named.avatarUrl = profile.avatarUrl;
      return { customer: named, late: before?.state === 'failed' };
    } catch (err) {
      const failures = (before?.failures ?? 0) + 1;
      await this.deps.state.failed(conn.id, customer.id, failures, new Date(now.getTime() + profileRetryDelayMs(failures)), now);
      log.warn('could not fetch the customer profile; the contact goes under the id for now', { failures, reason: errorMessage(err) });
      return { customer, late: false };
    }
  }
}
