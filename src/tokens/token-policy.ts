/**
 * The token state machine, as pure decisions (the checker does the I/O):
 *
 *   ok ──(fewer than TOKEN_RENEW_BEFORE_DAYS left, and Meta will not renew it)──▶ expiring
 *   ok / expiring ──(Meta says invalid: error 190 on any call, or debug_token is_valid false; or expired)──▶ needs_reauth
 *   any ──(renewed: Meta issued a token that lasts longer; or an admin put a new token)──▶ ok
 *
 * needs_reauth is also set by a send that Meta refused with 190 (src/core/relay-outbound.ts). The background
 * job does not lift it on its own when Meta calls the same token valid again: flapping between "reconnect it"
 * and "fine" would hide a real problem. A renewal, a new token, or an admin's explicit check does.
 */
import type { ConnectionHealth, ConnectionRecord } from '../store/connections';
import type { ChannelKind } from '../core/events';
import type { MetaTokenKind } from '../store/token-details';
import type { TokenFacts, TokenProblem } from './token-inspector';

const DAY_MS = 24 * 3600 * 1000;

/** Only user tokens go through fb_exchange_token; a system-user token that expires is tried the same way. */
const RENEWABLE_KINDS: ReadonlySet<MetaTokenKind> = new Set(['user', 'system_user']);

export type Verdict =
  | { action: 'keep' }
  | { action: 'renew' }
  | { action: 'expiring'; reason: string }
  | { action: 'needs_reauth'; reason: string };

export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Graph's OAuth subcodes (Graph API error-handling table, e.g. odev.me mirror and SDK issues: 463 "Session has
 * expired", 460 "changed the password"), in words an administrator can act on.
 */
export function describeProblem(problem: TokenProblem | undefined): string {
  const sub = problem?.subcode;
  const why = sub === 463 ? 'the token expired'
    : sub === 460 ? 'the Facebook user who granted it changed their password, or Meta reset the session for security'
      : sub === 458 ? 'the app was removed from the account that granted it'
        : sub === 467 ? 'the user who granted it logged out'
          : sub === 464 || sub === 459 ? "the user who granted it must first sort out their Facebook account (it is unconfirmed or checkpointed)"
            : `Meta says: ${(problem?.message ?? 'the token is not valid').slice(0, 200)}`;
  return `Meta no longer accepts this connection's token (${why}${problem?.code !== undefined ? `, code ${problem.code}${sub !== undefined ? `/${sub}` : ''}` : ''}): reconnect the account to give the bridge a new token.`;
}

/** What to do with a token, given what debug_token said about it. */
export function verdictFor(facts: TokenFacts, now: number, renewBeforeDays: number): Verdict {
  if (!facts.valid) return { action: 'needs_reauth', reason: describeProblem(facts.problem) };
  const expiresAt = facts.expiresAt;
  if (expiresAt === null) return { action: 'keep' };
  if (expiresAt.getTime() <= now) {
    return { action: 'needs_reauth', reason: `The token expired on ${formatDay(expiresAt)}: reconnect the account to give the bridge a new token.` };
  }
  if (expiresAt.getTime() - now > renewBeforeDays * DAY_MS) return { action: 'keep' };
  if (RENEWABLE_KINDS.has(facts.kind)) return { action: 'renew' };
  return { action: 'expiring', reason: cannotRenew(facts.kind, expiresAt) };
}

export function cannotRenew(kind: MetaTokenKind, expiresAt: Date, detail?: string): string {
  const hint = kind === 'page'
    ? ' (a Page token read with a long-lived user token never expires: connecting the Page again gives one)'
    : '';
  return `The token expires on ${formatDay(expiresAt)} and Meta ${detail ?? `does not renew ${kind.replace('_', '-')} tokens`}: reconnect the account before then${hint}.`;
}

/**
 * The health after a renewal attempt gave a token that expires at `newExpiresAt` (null: never): ok when it lasts
 * beyond the renewal window, else still expiring.
 */
export function healthAfterRenewal(newExpiresAt: Date | null, now: number, renewBeforeDays: number): ConnectionHealth {
  return newExpiresAt === null || newExpiresAt.getTime() - now > renewBeforeDays * DAY_MS ? 'ok' : 'expiring';
}

/** True when the token Meta returned outlasts the old one: only then is it a renewal worth storing. */
export function outlasts(newExpiresAt: Date | null | undefined, oldExpiresAt: Date): boolean {
  if (newExpiresAt === null) return true;
  return newExpiresAt !== undefined && newExpiresAt.getTime() > oldExpiresAt.getTime();
}

/** The permission each channel's sends need (meta-api-notes §6: WhatsApp, Messenger, Instagram via Facebook Login). */
const SEND_PERMISSION: Readonly<Record<ChannelKind, string>> = {
  whatsapp: 'whatsapp_business_messaging',
  messenger: 'pages_messaging',
  instagram: 'instagram_manage_messages',
};

/**
 * Why a token cannot serve this connection, judged from debug_token's scopes, or undefined when nothing says so.
 * Only what Meta states counts: a token that lists scopes must list the channel's send permission, and where
 * granular_scopes name target ids for it, the WABA (WhatsApp) or Page (Messenger) must be among them. Tokens
 * that list nothing (some system-user tokens reach every asset of their business) pass.
 */
export function coverageProblem(conn: Pick<ConnectionRecord, 'channel' | 'businessId' | 'wabaId'>, facts: TokenFacts): string | undefined {
  const permission = SEND_PERMISSION[conn.channel];
  if (facts.scopes.length > 0 && !facts.scopes.includes(permission)) return `the token lacks the ${permission} permission`;
  const target = conn.channel === 'whatsapp' ? conn.wabaId : conn.channel === 'messenger' ? conn.businessId : undefined;
  const granted = facts.granularScopes.find((g) => g.scope === permission);
  if (target && granted && granted.targetIds.length > 0 && !granted.targetIds.includes(target)) {
    return `the token's ${permission} permission is granted for ${granted.targetIds.length === 1 ? 'another account' : 'other accounts'}, not ${conn.channel === 'whatsapp' ? 'WhatsApp Business Account' : 'Page'} ${target}`;
  }
  return undefined;
}
