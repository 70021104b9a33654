/**
 * The reverse of onboarding's subscribe: when the last connection that Meta reaches through one webhook subscription
 * of the app is deleted, the app is unsubscribed there, so Meta stops sending that number's or Page's customer
 * messages to a bridge that would only drop them.
 *
 *   WhatsApp   DELETE /{waba-id}/subscribed_apps with the connection's business token (Meta's OpenAPI:
 *              unsubscribeFromWabaWebhooks → {success: true}). Several numbers share a WABA.
 *   Messenger  DELETE /{page-id}/subscribed_apps with the Page token. An Instagram connection on that Page's token
 *   Instagram  is reached through the same subscription (the Page's), so the Page's Messenger and Instagram
 *              connections share it. Instagram-Login connections (graph.instagram.com) are not unsubscribed here.
 *
 * Called after the connection's document is gone, with the record (and its token) still in memory: the connections
 * left are counted without it, so of two deleted one after the other the second unsubscribes, and of two deleted at
 * the same moment at least one does. Best effort: nothing here throws. What happened is returned, for the audit event
 * and the admin API's answer; when Meta may still be sending, `action` says what the operator must do by hand.
 */
import type { GraphClient } from '../channels/meta/graph-client';
import { GraphApiError, GraphRetryableError } from '../channels/meta/graph-errors';
import { instagramTokenKind } from '../channels/instagram/sender';
import { FACEBOOK_ID } from '../channels/meta/signed-request';
import { errorMessage } from '../core/errors';
import type { ConnectionRecord, ConnectionRepository, MetaSubscription } from '../store/connections';
import type { Logger } from '../log/logger';

/**
 * done: Meta confirmed. not_subscribed: Meta says the app was not subscribed there (any more).
 * skipped_shared: another connection of this bridge still uses the subscription (any tenant's).
 * skipped_maybe_shared: an Instagram connection whose Page is unknown (and its token could not say) may use it.
 * not_supported: an Instagram-Login connection. failed: <code>: Meta's error code, `network`, `no_token`
 * (a disconnected connection), `no_waba_id` (a WhatsApp connection that does not know its WABA), `no_page_id`.
 */
export type UnsubscribeOutcome = 'done' | 'not_subscribed' | 'skipped_shared' | 'skipped_maybe_shared' | 'not_supported' | `failed: ${string}`;

export interface MetaUnsubscribe {
  outcome: UnsubscribeOutcome;
  /** `waba <id>` or `page <id>`: business ids, never a customer's. Absent when the connection does not say. */
  subscription?: string;
  /** When Meta may still send this subscription's webhooks: what the operator does by hand. */
  action?: string;
}

/** What deleting a connection did beyond the bridge's own records. */
export interface ConnectionDeletion {
  metaUnsubscribe: MetaUnsubscribe;
}

export type ConnectionUnsubscribe = MetaUnsubscribe & { connectionId: string };

export interface UnsubscriberDeps {
  graph: GraphClient;
  connections: ConnectionRepository;
  log: Logger;
}

/** Meta's answer to a DELETE on a WABA that does not exist or where the app is not subscribed (OpenAPI: 404, 803). */
const NOT_SUBSCRIBED_CODE = 803;

const label = (s: MetaSubscription): string => `${s.kind} ${s.id}`;

function byHand(s: MetaSubscription | undefined): string {
  if (s?.kind === 'waba') return `Meta may still send WhatsApp Business Account ${s.id}'s webhooks to this bridge, which drops them: if no number of it is used here any more, remove this app from that account in Meta Business Settings.`;
  if (s?.kind === 'page') return `Meta may still send Page ${s.id}'s webhooks to this bridge, which drops them: if neither its Messenger nor its Instagram is used here any more, remove this app from the Page (Meta Business Settings, or the Page's business integrations).`;
  return "Meta may still send this channel's webhooks to this bridge, which drops them: remove this app from the WhatsApp Business Account or Page in Meta Business Settings if nothing else here uses it.";
}

/** A short code for a Graph failure: Meta's error code, else `network`. */
function failureCode(err: unknown): string {
  if (err instanceof GraphApiError) return String(err.graphCode ?? `http_${err.httpStatus ?? 'unknown'}`);
  if (err instanceof GraphRetryableError) return err.code !== undefined ? String(err.code) : 'network';
  return 'error';
}

/**
 * In a batch (a tenant's or an installation's connections), the connections without a working token go first, so
 * the last of a WABA's or Page's connections to go — the one that unsubscribes — is one whose token Meta still takes.
 */
export function usableTokensLast<T>(items: T[], connOf: (item: T) => ConnectionRecord | null | undefined): T[] {
  const rank = (c: ConnectionRecord | null | undefined) => (!c?.metaToken ? 0 : c.health === 'needs_reauth' ? 1 : 2);
  return [...items].sort((a, b) => rank(connOf(a)) - rank(connOf(b)));
}

/**
 * For the audit event of a batch: the final outcome per subscription, then how many connections named none (by
 * outcome). Business ids only: the connections' own ids stay out of events that outlive them (a tenant's deletion).
 */
export function summarizeUnsubscribes(reports: MetaUnsubscribe[]): string {
  const last = new Map<string, UnsubscribeOutcome>();
  const unnamed = new Map<UnsubscribeOutcome, number>();
  for (const r of reports) {
    if (r.subscription) last.set(r.subscription, r.outcome);
    else unnamed.set(r.outcome, (unnamed.get(r.outcome) ?? 0) + 1);
  }
  return [...[...last].map(([what, outcome]) => `${what}: ${outcome}`), ...[...unnamed].map(([outcome, n]) => `${outcome} ×${n}`)].join('; ');
}

export class MetaUnsubscriber {
  constructor(private readonly deps: UnsubscriberDeps) {}

  /** After `conn`'s document was deleted. Never throws. */
  async afterDelete(conn: ConnectionRecord): Promise<MetaUnsubscribe> {
    let subscription: MetaSubscription | undefined;
    try {
      if (conn.channel === 'instagram' && instagramTokenKind(conn) === 'instagram_login') {
        return { outcome: 'not_supported', action: "This Instagram-Login connection's webhooks are not unsubscribed by the bridge: remove the app in the Instagram account's settings if nothing else uses it." };
      }
      const found = await this.subscriptionOf(conn);
      if (typeof found === 'string') return this.failed(conn, undefined, found);
      subscription = found;
      const shared = await this.stillUsed(subscription);
      if (shared === true) return { outcome: 'skipped_shared', subscription: label(subscription) };
      if (shared === 'unknown') return { outcome: 'skipped_maybe_shared', subscription: label(subscription), action: byHand(subscription) };
      if (!conn.metaToken) return this.failed(conn, subscription, 'no_token');
      await this.deps.graph.delete(`${subscription.id}/subscribed_apps`, conn.metaToken);
      this.deps.log.info('app unsubscribed at Meta: the last connection using it was deleted', { connectionId: conn.id, subscription: label(subscription) });
      return { outcome: 'done', subscription: label(subscription) };
    } catch (err) {
      if (subscription && err instanceof GraphApiError && err.graphCode === NOT_SUBSCRIBED_CODE) {
        return { outcome: 'not_subscribed', subscription: label(subscription) };
      }
      return this.failed(conn, subscription, failureCode(err), errorMessage(err));
    }
  }

  private failed(conn: ConnectionRecord, subscription: MetaSubscription | undefined, code: string, reason?: string): MetaUnsubscribe {
    this.deps.log.warn('could not unsubscribe the app at Meta for a deleted connection; remove it by hand', {
      connectionId: conn.id, channel: conn.channel, subscription: subscription ? label(subscription) : undefined, code, reason,
    });
    return { outcome: `failed: ${code}`, ...(subscription ? { subscription: label(subscription) } : {}), action: byHand(subscription) };
  }

  /** The subscription the connection is reached through, or why it is not known. */
  private async subscriptionOf(conn: ConnectionRecord): Promise<MetaSubscription | string> {
    if (conn.channel === 'whatsapp') return conn.wabaId ? { kind: 'waba', id: conn.wabaId } : 'no_waba_id';
    if (conn.channel === 'messenger') return { kind: 'page', id: conn.businessId };
    if (conn.pageId) return { kind: 'page', id: conn.pageId };
    if (!conn.metaToken) return 'no_token';
    const pageId = await this.pageOfToken(conn.metaToken);
    return pageId ? { kind: 'page', id: pageId } : 'no_page_id';
  }

  /** A Page token's Page: GET /me names it. */
  private async pageOfToken(token: string): Promise<string | undefined> {
    const me = await this.deps.graph.get<{ id?: unknown }>('me', token, { fields: 'id' });
    return typeof me.id === 'string' && FACEBOOK_ID.test(me.id) ? me.id : undefined;
  }

  /**
   * Whether a connection left still uses the subscription. For a Page, Instagram connections whose Page is not
   * recorded are asked (GET /me with their token) and the answer kept; one that cannot say makes it 'unknown'.
   */
  private async stillUsed(subscription: MetaSubscription): Promise<boolean | 'unknown'> {
    if ((await this.deps.connections.subscribedThrough(subscription)).length > 0) return true;
    if (subscription.kind !== 'page') return false;
    let unknown = false;
    for (const ig of await this.deps.connections.instagramWithoutPage()) {
      const pageId = ig.metaToken ? await this.pageOfToken(ig.metaToken).catch(() => undefined) : undefined;
      if (!pageId) { unknown = true; continue; }
      await this.deps.connections.update(ig.id, { pageId });
      if (pageId === subscription.id) return true;
    }
    return unknown ? 'unknown' : false;
  }
}
