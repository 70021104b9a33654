/**
 * One step of the token lifecycle for one connection: ask Meta about its token, renew it when it is due and Meta
 * allows, and store the health and what Meta said (src/tokens/token-policy.ts decides). Used by the background
 * job for every connection and by the admin API's "check now" for one.
 *
 * Meta is asked with debug_token for Facebook tokens (WhatsApp, Messenger, Instagram with a Page token);
 * Instagram-Login tokens cannot be inspected that way, so they are refreshed (graph.instagram.com) when their
 * expiry is unknown or near, and what the refresh says is what the bridge knows.
 *
 * A check that could not ask Meta (network, Meta down, a wrong app secret) changes nothing: it says nothing about
 * the token. Error 190 about the token itself, on any of these calls, means needs_reauth.
 */
import type { ConnectionHealth, ConnectionRecord, ConnectionRepository } from '../store/connections';
import type { TokenDetails } from '../store/token-details';
import type { Logger } from '../log/logger';
import { GraphApiError } from '../channels/meta/graph-errors';
import { PermanentError, errorMessage } from '../core/errors';
import { cannotRenew, describeProblem, healthAfterRenewal, outlasts, verdictFor } from './token-policy';
import type { IssuedToken, TokenFacts, TokenInspector } from './token-inspector';

export type CheckTrigger = 'job' | 'admin';

/**
 * ok / renewed / expiring / needs_reauth: the check finished and stored that; check_failed: Meta could not be
 * asked (nothing changed); skipped: nothing to check (disconnected, or no app credentials for this kind of
 * token); superseded: the connection changed while Meta was asked (the next check sees the new state).
 */
export type CheckOutcome = 'ok' | 'renewed' | 'expiring' | 'needs_reauth' | 'check_failed' | 'skipped' | 'superseded';

export interface CheckResult {
  outcome: CheckOutcome;
  health: ConnectionHealth;
  /** Why, when not ok (or why the check could not run). Never carries a token. */
  reason?: string;
  token?: TokenDetails;
}

export interface TokenCheckerDeps {
  connections: ConnectionRepository;
  /** Absent without META_APP_ID: Facebook tokens are then not inspected. */
  inspector?: TokenInspector;
  /** graph.instagram.com refresh_access_token; needs no app credentials. */
  refreshInstagramLogin?: (token: string) => Promise<IssuedToken>;
  renewBeforeDays: number;
  /** The connection's token or health changed (caches of connections must forget it). */
  onChanged: (connectionId: string) => void;
  onOutcome?: (outcome: CheckOutcome, trigger: CheckTrigger) => void;
  log: Logger;
  now?: () => number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The outcome that reports a health left as it was. */
function outcomeOf(health: ConnectionHealth): CheckOutcome {
  return health === 'expiring' || health === 'needs_reauth' ? health : 'ok';
}

function isInstagramLogin(conn: ConnectionRecord): boolean {
  return conn.channel === 'instagram' && conn.options?.tokenKind === 'instagram_login';
}

/** Error 190 about the token checked (not about the app token that asked): Meta no longer accepts it. */
function refusedToken(err: unknown): GraphApiError | undefined {
  return err instanceof GraphApiError && err.graphCode === 190 ? err : undefined;
}

function metaSaid(err: unknown): string {
  return errorMessage(err).replace(/^Graph \S+( code \d+)?: /, '').slice(0, 200);
}

function detailsFrom(facts: TokenFacts, now: number, extra: { reason?: string; renewedAt?: Date; expiresAt?: Date | null } = {}): TokenDetails {
  return {
    kind: facts.kind,
    expiresAt: extra.expiresAt !== undefined ? extra.expiresAt : facts.expiresAt,
    dataAccessExpiresAt: facts.dataAccessExpiresAt,
    scopes: facts.scopes,
    granularScopes: facts.granularScopes,
    checkedAt: new Date(now),
    renewedAt: extra.renewedAt,
    reason: extra.reason,
  };
}

export class TokenChecker {
  private readonly now: () => number;

  constructor(private readonly deps: TokenCheckerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Whether this connection's token can be checked at all with the configured credentials. */
  canCheck(conn: ConnectionRecord): boolean {
    if (conn.health === 'disconnected' || !conn.metaToken) return false;
    return isInstagramLogin(conn) ? Boolean(this.deps.refreshInstagramLogin) : Boolean(this.deps.inspector);
  }

  async check(conn: ConnectionRecord, trigger: CheckTrigger): Promise<CheckResult> {
    const result = await this.run(conn, trigger);
    this.deps.onOutcome?.(result.outcome, trigger);
    const log = this.deps.log.child({ connectionId: conn.id, trigger });
    if (result.outcome === 'check_failed') log.warn('token check could not ask Meta; nothing changed', { reason: result.reason });
    else if (result.outcome !== 'skipped' && (result.health !== conn.health || result.outcome === 'renewed')) {
      log.info('token health changed', { from: conn.health, to: result.health, outcome: result.outcome, tokenKind: result.token?.kind, expiresAt: result.token?.expiresAt ?? undefined });
    }
    return result;
  }

  private async run(conn: ConnectionRecord, trigger: CheckTrigger): Promise<CheckResult> {
    if (conn.health === 'disconnected' || !conn.metaToken) {
      return { outcome: 'skipped', health: conn.health, reason: 'The connection is disconnected: it has no token to check.' };
    }
    if (isInstagramLogin(conn)) return this.checkInstagramLogin(conn, trigger);
    const inspector = this.deps.inspector;
    if (!inspector) return { outcome: 'skipped', health: conn.health, reason: 'META_APP_ID is not set, so the bridge cannot ask Meta about Facebook tokens.' };

    const now = this.now();
    let facts: TokenFacts;
    try {
      facts = await inspector.inspect(conn.metaToken);
    } catch (err) {
      return { outcome: 'check_failed', health: conn.health, reason: `Could not ask Meta about the token (debug_token): ${metaSaid(err)}` };
    }
    const verdict = verdictFor(facts, now, this.deps.renewBeforeDays);
    switch (verdict.action) {
      case 'keep': {
        const health = this.settled(conn, trigger, 'ok');
        const reason = health === 'needs_reauth'
          ? 'Meta refused this token (code 190) on a send or download, though debug_token now calls it valid: check the token now (admin API or CLI) or reconnect the account.'
          : undefined;
        return this.store(conn, outcomeOf(health), health, detailsFrom(facts, now, { reason }));
      }
      case 'needs_reauth':
        return this.store(conn, 'needs_reauth', 'needs_reauth', detailsFrom(facts, now, { reason: verdict.reason }));
      case 'expiring': {
        const health = this.settled(conn, trigger, 'expiring');
        return this.store(conn, outcomeOf(health), health, detailsFrom(facts, now, { reason: verdict.reason }));
      }
      case 'renew':
        return this.renew(conn, trigger, inspector, facts, now);
    }
  }

  /** The job never lifts needs_reauth by itself (token-policy.ts): a renewal or an admin's explicit check does. */
  private settled(conn: ConnectionRecord, trigger: CheckTrigger, health: ConnectionHealth): ConnectionHealth {
    return conn.health === 'needs_reauth' && trigger === 'job' ? 'needs_reauth' : health;
  }

  /** fb_exchange_token, counted as a renewal only when the token Meta returns outlasts the old one. */
  private async renew(conn: ConnectionRecord, trigger: CheckTrigger, inspector: TokenInspector, facts: TokenFacts, now: number): Promise<CheckResult> {
    const oldExpiresAt = facts.expiresAt!;
    const notRenewed = this.settled(conn, trigger, 'expiring');
    let issued: IssuedToken;
    try {
      issued = await inspector.exchangeForLongLived(conn.metaToken, now);
    } catch (err) {
      const refused = refusedToken(err);
      if (refused) return this.store(conn, 'needs_reauth', 'needs_reauth', detailsFrom(facts, now, { reason: describeProblem({ code: 190, subcode: refused.subcode, message: metaSaid(err) }) }));
      if (!(err instanceof PermanentError)) return { outcome: 'check_failed', health: conn.health, reason: `Could not renew the token now (Meta did not answer): ${metaSaid(err)}` };
      return this.store(conn, outcomeOf(notRenewed), notRenewed, detailsFrom(facts, now, { reason: cannotRenew(facts.kind, oldExpiresAt, `refused to renew it (${metaSaid(err)})`) }));
    }
    // What Meta says about the new token is the truth; expires_in is the fallback when it cannot be asked.
    const newFacts = await inspector.inspect(issued.accessToken).catch(() => undefined);
    const newExpiresAt = newFacts?.valid ? newFacts.expiresAt : newFacts ? undefined : issued.expiresAt;
    if (!outlasts(newExpiresAt, oldExpiresAt)) {
      return this.store(conn, outcomeOf(notRenewed), notRenewed, detailsFrom(facts, now, { reason: cannotRenew(facts.kind, oldExpiresAt, 'would not extend it') }));
    }
    const health = healthAfterRenewal(newExpiresAt ?? null, now, this.deps.renewBeforeDays);
    const details = detailsFrom(newFacts ?? facts, now, {
      expiresAt: newExpiresAt, renewedAt: new Date(now),
      reason: health === 'expiring' ? cannotRenew(facts.kind, newExpiresAt!, 'renewed it only until then') : undefined,
    });
    return this.store(conn, 'renewed', health, details, issued.accessToken);
  }

  private async checkInstagramLogin(conn: ConnectionRecord, trigger: CheckTrigger): Promise<CheckResult> {
    const refresh = this.deps.refreshInstagramLogin;
    if (!refresh) return { outcome: 'skipped', health: conn.health, reason: 'Instagram-Login tokens cannot be refreshed: no Instagram Graph client.' };
    const now = this.now();
    const known = conn.token?.expiresAt ?? undefined;
    const due = trigger === 'admin' || !known || known.getTime() - now <= this.deps.renewBeforeDays * DAY_MS;
    // Not due: nothing to ask (these tokens cannot be inspected, and refreshing early only moves the date).
    if (!due) return { outcome: outcomeOf(conn.health), health: conn.health, reason: conn.token?.reason, token: conn.token };
    const previous: TokenDetails = { kind: 'instagram_login', expiresAt: known, scopes: conn.token?.scopes ?? [], granularScopes: [], checkedAt: new Date(now) };
    let issued: IssuedToken;
    try {
      issued = await refresh(conn.metaToken);
    } catch (err) {
      const refused = refusedToken(err);
      if (refused) return this.store(conn, 'needs_reauth', 'needs_reauth', { ...previous, reason: describeProblem({ code: 190, subcode: refused.subcode, message: metaSaid(err) }) });
      if (!(err instanceof PermanentError)) return { outcome: 'check_failed', health: conn.health, reason: `Could not refresh the Instagram token now (Meta did not answer): ${metaSaid(err)}` };
      if (known && known.getTime() <= now) {
        return this.store(conn, 'needs_reauth', 'needs_reauth', { ...previous, reason: `The Instagram token expired on ${known.toISOString().slice(0, 10)}: reconnect the account.` });
      }
      if (known && known.getTime() - now <= this.deps.renewBeforeDays * DAY_MS) {
        const health = this.settled(conn, trigger, 'expiring');
        return this.store(conn, outcomeOf(health), health, { ...previous, reason: cannotRenew('instagram_login', known, `refused to refresh it (${metaSaid(err)})`) });
      }
      // Far from expiry (or not known): Meta refreshes only tokens at least 24 hours old, so a new one waits.
      return this.store(conn, outcomeOf(conn.health), conn.health, { ...previous, reason: `Could not refresh the Instagram token yet: ${metaSaid(err)}` });
    }
    const newExpiresAt = issued.expiresAt;
    const health = healthAfterRenewal(newExpiresAt ?? null, now, this.deps.renewBeforeDays);
    return this.store(conn, 'renewed', health, { ...previous, expiresAt: newExpiresAt, renewedAt: new Date(now) }, issued.accessToken);
  }

  private async store(conn: ConnectionRecord, outcome: CheckOutcome, health: ConnectionHealth, token: TokenDetails, renewed?: string): Promise<CheckResult> {
    const landed = await this.deps.connections.recordTokenCheck(conn.id, { metaToken: conn.metaToken, health: conn.health }, { health, token, renewed });
    if (!landed) return { outcome: 'superseded', health: conn.health, reason: 'The connection changed while Meta was asked; the next check looks at it again.' };
    if (health !== conn.health || renewed !== undefined) this.deps.onChanged(conn.id);
    return { outcome, health, reason: token.reason, token };
  }
}
