/**
 * Token lifecycle on the fake Graph: what each token is (kind, expiry, scopes, granular target ids), and the
 * three endpoints that read or extend it, answering like Meta (shapes: src/tokens/token-inspector.ts):
 *   GET /{ver}/debug_token?input_token=…           app token `<id>|<secret>` (Bearer or access_token) required
 *   GET /{ver}/oauth/access_token                  grant_type=fb_exchange_token (client_id, client_secret), or code
 *   GET /ig-host/refresh_access_token              grant_type=ig_refresh_token (graph.instagram.com, unversioned)
 * An expired token is refused everywhere with 190/463 "Session has expired", an invalidated one with 190 and its
 * subcode (460: password changed); debug_token answers 200 with is_valid false and that error, as Meta does.
 *
 * How a token renews is set per token (`renewal`): 'extend' (a new token, valid 60 days from now), 'same' (Meta
 * answers with the same token and an unchanged expiry: nothing gained) or 'refuse' (an error). Where Meta's exact
 * wording is not documented (app-credential and refusal messages, the 24-hour Instagram rule's error), the code
 * is Meta's usual one and the text ours.
 */
import type { Request, Response } from 'express';
import { GraphError, fbtraceId } from './errors';

export type FakeTokenType = 'USER' | 'PAGE' | 'SYSTEM_USER' | 'APP' | 'INSTAGRAM_LOGIN';

export interface FakeTokenMeta {
  type: FakeTokenType;
  /** ms since epoch; undefined = never expires (debug_token expires_at 0). */
  expiresAt?: number;
  dataAccessExpiresAt?: number;
  issuedAt: number;
  scopes: string[];
  granularScopes: Array<{ scope: string; target_ids?: string[] }>;
  userId?: string;
  /** Belongs to another app than the configured one. */
  appId?: string;
  renewal: 'extend' | 'same' | 'refuse';
  /** Revoked: every call answers 190 with this subcode. */
  invalidated?: { subcode: number; message: string };
}

export interface IssuedFakeToken {
  from: string;
  to: string;
  via: 'fb_exchange_token' | 'ig_refresh_token' | 'code';
  at: number;
}

const SIXTY_DAYS_S = 60 * 24 * 3600;
const DAY_MS = 24 * 3600 * 1000;

function oauthError(status: number, code: number, message: string, subcode?: number): GraphError {
  return new GraphError(status, { error: { message, type: 'OAuthException', code, ...(subcode !== undefined ? { error_subcode: subcode } : {}), fbtrace_id: fbtraceId() } });
}

function expiredMessage(at: number): string {
  return `Error validating access token: Session has expired on ${new Date(at).toUTCString()}. The current time is ${new Date().toUTCString()}.`;
}

export class TokenBook {
  readonly meta = new Map<string, FakeTokenMeta>();
  readonly issued: IssuedFakeToken[] = [];
  readonly codes = new Map<string, string>();
  app?: { id: string; secret: string };
  private counter = 0;

  /**
   * `known` says whether the fake knows the token at all (it holds the grants); `copyGrant` gives a renewed token
   * the same grants as the one it replaces.
   */
  constructor(private readonly known: (token: string) => boolean, private readonly copyGrant: (from: string, to: string) => void) {}

  describe(token: string, defaults: Partial<FakeTokenMeta> = {}): FakeTokenMeta {
    let m = this.meta.get(token);
    if (!m) {
      m = { type: 'SYSTEM_USER', issuedAt: Date.now() - DAY_MS * 2, scopes: [], granularScopes: [], renewal: 'extend', ...defaults };
      this.meta.set(token, m);
    }
    return m;
  }

  set(token: string, meta: Partial<FakeTokenMeta>): void {
    Object.assign(this.describe(token), meta);
  }

  /** The error every call with this token gets, or undefined when it may be used. */
  refusal(token: string, now = Date.now()): GraphError | undefined {
    const m = this.meta.get(token);
    if (!m) return undefined;
    if (m.invalidated) return oauthError(400, 190, `Error validating access token: ${m.invalidated.message}`, m.invalidated.subcode);
    if (m.expiresAt !== undefined && m.expiresAt <= now) return oauthError(400, 190, expiredMessage(m.expiresAt), 463);
    return undefined;
  }

  private checkApp(clientId: unknown, clientSecret: unknown): void {
    if (!this.app || clientId !== this.app.id) throw oauthError(400, 101, 'Error validating application. Invalid application ID.');
    if (clientSecret !== this.app.secret) throw oauthError(400, 1, 'Error validating client secret.');
  }

  private mint(from: string, via: IssuedFakeToken['via'], meta: Partial<FakeTokenMeta>): string {
    this.counter += 1;
    const to = `${from.slice(0, 24)}-${via === 'ig_refresh_token' ? 'ig' : 'll'}${this.counter}`;
    this.copyGrant(from, to);
    const base = this.meta.get(from);
    this.meta.set(to, { ...(base ?? { type: 'USER', scopes: [], granularScopes: [], renewal: 'extend' }), invalidated: undefined, issuedAt: Date.now(), ...meta });
    this.issued.push({ from, to, via, at: Date.now() });
    return to;
  }

  debugToken(req: Request, res: Response, appToken: string | undefined): void {
    if (!this.app || appToken !== `${this.app.id}|${this.app.secret}`) {
      throw oauthError(400, 190, 'Invalid OAuth access token signature.');
    }
    const input = typeof req.query.input_token === 'string' ? req.query.input_token : '';
    if (!input) throw oauthError(400, 100, 'The parameter input_token is required');
    if (!this.known(input)) {
      res.json({ data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' }, scopes: [] } });
      return;
    }
    const m = this.describe(input);
    const refused = this.refusal(input);
    const s = (ms: number | undefined) => (ms === undefined ? 0 : Math.floor(ms / 1000));
    const error = refused ? { code: 190, subcode: refused.body.error.error_subcode, message: refused.body.error.message } : undefined;
    res.json({
      data: {
        app_id: m.appId ?? this.app.id,
        type: m.type === 'INSTAGRAM_LOGIN' ? 'USER' : m.type,
        application: 'Bridge test app',
        data_access_expires_at: s(m.dataAccessExpiresAt),
        expires_at: s(m.expiresAt),
        is_valid: !refused,
        issued_at: s(m.issuedAt),
        scopes: m.scopes,
        granular_scopes: m.granularScopes,
        ...(m.userId ? { user_id: m.userId } : {}),
        ...(error ? { error } : {}),
      },
    });
  }

  accessToken(req: Request, res: Response): void {
    this.checkApp(req.query.client_id, req.query.client_secret);
    if (typeof req.query.code === 'string') {
      const token = this.codes.get(req.query.code);
      if (!token) throw oauthError(400, 100, 'This authorization code has expired.', 36007);
      this.codes.delete(req.query.code);
      this.issued.push({ from: req.query.code, to: token, via: 'code', at: Date.now() });
      const m = this.meta.get(token);
      res.json({ access_token: token, token_type: 'bearer', ...(m?.expiresAt ? { expires_in: Math.floor((m.expiresAt - Date.now()) / 1000) } : {}) });
      return;
    }
    if (req.query.grant_type !== 'fb_exchange_token') throw oauthError(400, 100, 'Unsupported grant_type');
    const from = typeof req.query.fb_exchange_token === 'string' ? req.query.fb_exchange_token : '';
    if (!from || !this.known(from)) throw oauthError(400, 190, 'Invalid OAuth access token - Cannot parse access token');
    const refused = this.refusal(from);
    if (refused) throw refused;
    const m = this.describe(from);
    if (m.type !== 'USER' && m.type !== 'SYSTEM_USER') throw oauthError(400, 100, `(#100) A ${m.type.toLowerCase()} token cannot be exchanged`);
    if (m.renewal === 'refuse') throw oauthError(400, 100, '(#100) This token cannot be extended');
    if (m.renewal === 'same') {
      res.json({ access_token: from, token_type: 'bearer', ...(m.expiresAt ? { expires_in: Math.floor((m.expiresAt - Date.now()) / 1000) } : {}) });
      return;
    }
    const to = this.mint(from, 'fb_exchange_token', { expiresAt: Date.now() + SIXTY_DAYS_S * 1000 });
    res.json({ access_token: to, token_type: 'bearer', expires_in: SIXTY_DAYS_S - 56 });
  }

  refreshInstagram(req: Request, res: Response): void {
    if (req.query.grant_type !== 'ig_refresh_token') throw oauthError(400, 100, 'Unsupported grant_type');
    const from = typeof req.query.access_token === 'string' ? req.query.access_token : '';
    if (!from || !this.known(from)) throw oauthError(400, 190, 'Invalid OAuth access token - Cannot parse access token');
    const refused = this.refusal(from);
    if (refused) throw refused;
    const m = this.describe(from, { type: 'INSTAGRAM_LOGIN' });
    if (Date.now() - m.issuedAt < DAY_MS) throw oauthError(400, 100, '(#100) The token is too new to be refreshed (tokens must be at least 24 hours old)');
    if (m.renewal === 'refuse') throw oauthError(400, 100, '(#100) This token cannot be refreshed');
    const to = this.mint(from, 'ig_refresh_token', { expiresAt: Date.now() + SIXTY_DAYS_S * 1000 });
    res.json({ access_token: to, token_type: 'bearer', expires_in: SIXTY_DAYS_S });
  }

  reset(): void {
    this.issued.length = 0;
    this.codes.clear();
  }
}
