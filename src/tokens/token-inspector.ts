/**
 * What Meta says about an access token, and the calls that make a token last longer. Three Graph calls, each
 * checked against Meta's documentation (search, 2026-11):
 *
 *  - GET /{ver}/debug_token?input_token=<t> with the app token `<app-id>|<app-secret>`
 *    (developers.facebook.com/docs/graph-api/reference/debug_token) → `data: { app_id, type, application,
 *    expires_at, data_access_expires_at, is_valid, issued_at, scopes, granular_scopes: [{scope, target_ids}],
 *    user_id, error? }`. `expires_at` 0 means the token never expires (Page tokens read with a long-lived user
 *    token, non-expiring system-user tokens). `granular_scopes[].target_ids` name the WABAs / Pages / Instagram
 *    accounts the token may act on. An expired or revoked token still answers 200, with `is_valid: false` and
 *    `error: {code: 190, subcode: 463 expired | 460 password changed | 458 app removed …, message}` (subcodes:
 *    Graph's OAuth error table; the 200-with-is_valid-false shape: UNCONFIRMED in the official page, seen in SDK
 *    and debugger output).
 *  - GET /{ver}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token=<t>
 *    (developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived) → `{access_token,
 *    token_type: 'bearer', expires_in: ~5184000}`: a long-lived user token, about 60 days. "You can not use an
 *    expired token"; the answer may be a different string, so a caller stores the new one. Whether exchanging a
 *    token that is already long-lived moves its expiry is not documented, so nothing here assumes it: a renewal
 *    counts only when the token Meta returns expires later than the old one (see TokenRenewer).
 *  - GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token=<t>
 *    (developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token): a long-lived
 *    Instagram-Login token "at least 24 hours old but not expired" → a token valid 60 days from the refresh.
 *    These tokens belong to the Instagram app, so debug_token (Facebook app token) cannot inspect them; their
 *    expiry is learnt from `expires_in` here.
 *
 * The app secret travels only to Meta: in the Authorization header of debug_token (as the app token) and in the
 * query of the exchange, which Meta's endpoint requires. Errors carry Meta's message, never a URL or a token.
 */
import type { GraphClient } from '../channels/meta/graph-client';
import type { GranularScope, MetaTokenKind } from '../store/token-details';

export type { GranularScope, MetaTokenKind } from '../store/token-details';

export interface TokenProblem {
  code?: number;
  subcode?: number;
  message: string;
}

/** What debug_token says about one token (never the token itself). */
export interface TokenFacts {
  kind: MetaTokenKind;
  valid: boolean;
  /** null: Meta says it never expires (expires_at 0). */
  expiresAt: Date | null;
  /** When the app's access to the person's data lapses unless they use the app again (null: not reported). */
  dataAccessExpiresAt: Date | null;
  scopes: string[];
  granularScopes: GranularScope[];
  appId?: string;
  userId?: string;
  /** Why the token is not valid, in Meta's words (only when `valid` is false). */
  problem?: TokenProblem;
}

export interface IssuedToken {
  accessToken: string;
  /** From `expires_in`; undefined when Meta did not say. */
  expiresAt?: Date;
}

export interface MetaAppCredentials {
  id: string;
  secret: string;
}

interface DebugTokenJson {
  data?: {
    app_id?: string | number;
    type?: string;
    expires_at?: number;
    data_access_expires_at?: number;
    is_valid?: boolean;
    scopes?: unknown;
    granular_scopes?: Array<{ scope?: unknown; target_ids?: unknown }>;
    user_id?: string | number;
    error?: { code?: number; subcode?: number; message?: string };
  };
}

interface TokenJson {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
}

const KINDS: Readonly<Record<string, MetaTokenKind>> = { USER: 'user', PAGE: 'page', SYSTEM_USER: 'system_user', APP: 'app' };

function epochDate(seconds: unknown): Date | null {
  return typeof seconds === 'number' && seconds > 0 ? new Date(seconds * 1000) : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** debug_token's `data`, made plain. Exported for the unit tests' table of real answers. */
export function factsFromDebugToken(json: DebugTokenJson): TokenFacts {
  const d = json.data ?? {};
  const valid = d.is_valid === true;
  return {
    kind: KINDS[String(d.type ?? '').toUpperCase()] ?? 'unknown',
    valid,
    expiresAt: epochDate(d.expires_at),
    dataAccessExpiresAt: epochDate(d.data_access_expires_at),
    scopes: strings(d.scopes),
    granularScopes: (d.granular_scopes ?? []).filter((g) => typeof g.scope === 'string')
      .map((g) => ({ scope: g.scope as string, targetIds: strings(g.target_ids) })),
    appId: d.app_id === undefined ? undefined : String(d.app_id),
    userId: d.user_id === undefined ? undefined : String(d.user_id),
    problem: valid ? undefined : {
      code: d.error?.code,
      subcode: d.error?.subcode,
      message: d.error?.message ?? 'Meta says the token is not valid',
    },
  };
}

function issued(data: TokenJson, what: string, now: number): IssuedToken {
  if (typeof data.access_token !== 'string' || data.access_token.length === 0) {
    throw new Error(`Graph answered ${what} without an access_token`);
  }
  return { accessToken: data.access_token, expiresAt: typeof data.expires_in === 'number' && data.expires_in > 0 ? new Date(now + data.expires_in * 1000) : undefined };
}

/**
 * Short-lived user token → long-lived user token (~60 days). Also what onboarding calls before reading Page
 * tokens with it, since Page tokens read with a long-lived user token do not expire.
 */
export async function exchangeForLongLived(graph: GraphClient, app: MetaAppCredentials, userToken: string, now = Date.now()): Promise<IssuedToken> {
  const data = await graph.call<TokenJson>(() => graph.http.get<TokenJson>(graph.path('oauth/access_token'), {
    params: { grant_type: 'fb_exchange_token', client_id: app.id, client_secret: app.secret, fb_exchange_token: userToken },
  }));
  return issued(data, 'the token exchange', now);
}

/** A long-lived Instagram-Login token → a new one valid 60 days (the Instagram host, unversioned as documented). */
export async function refreshInstagramLoginToken(instagram: GraphClient, token: string, now = Date.now()): Promise<IssuedToken> {
  const data = await instagram.call<TokenJson>(() => instagram.http.get<TokenJson>('/refresh_access_token', {
    params: { grant_type: 'ig_refresh_token', access_token: token },
  }));
  return issued(data, 'the Instagram token refresh', now);
}

export class TokenInspector {
  constructor(
    private readonly graph: GraphClient,
    private readonly app: MetaAppCredentials,
    private readonly instagram?: GraphClient,
  ) {}

  get appId(): string {
    return this.app.id;
  }

  /**
   * debug_token for one token. Throws (GraphApiError / retryable) only when the inspection itself failed, e.g. a
   * wrong app secret or Meta unavailable: that says nothing about the token, so callers must not mark anything.
   */
  async inspect(token: string): Promise<TokenFacts> {
    const json = await this.graph.get<DebugTokenJson>('debug_token', `${this.app.id}|${this.app.secret}`, { input_token: token });
    return factsFromDebugToken(json);
  }

  exchangeForLongLived(userToken: string, now = Date.now()): Promise<IssuedToken> {
    return exchangeForLongLived(this.graph, this.app, userToken, now);
  }

  refreshInstagramLogin(token: string, now = Date.now()): Promise<IssuedToken> {
    if (!this.instagram) throw new Error('no Instagram Graph client configured');
    return refreshInstagramLoginToken(this.instagram, token, now);
  }
}
