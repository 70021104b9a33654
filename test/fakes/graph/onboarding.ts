/**
 * The onboarding side of the Graph fake (meta-api-notes §6, Meta's OpenAPI spec for register and subscribed_apps):
 *
 *   POST /{waba-id}/subscribed_apps        GET the same: the app's webhook subscription on a WABA; DELETE the same
 *                                          unsubscribes ({success: true}; 404/803 when the app is not subscribed,
 *                                          as Meta's OpenAPI unsubscribeFromWabaWebhooks documents)
 *   GET  /{waba-id}/phone_numbers          the WABA's numbers (id, display_phone_number, verified_name, status…)
 *   GET  /{phone-number-id}                one number, when the token reaches it
 *   POST /{phone-number-id}/register       { messaging_product: 'whatsapp', pin } (6 digits; PIN mismatch 133005;
 *                                          more than 10 attempts 133016)
 *   GET  /me                               who the token is: a user token (and a long-lived one made from it) → the
 *                                          fake user {id, name} its code was issued for; a business token → its
 *                                          Business Integration System User (not the person who signed up); a Page
 *                                          token → the Page. ?fields= filters like Graph (default id,name)
 *   GET  /me/accounts                      a user token's Pages, each with its Page token
 *   POST /{page-id}/subscribed_apps        ?subscribed_fields=… (or in the body), Page token; DELETE the same with
 *                                          the Page token unsubscribes ({success: true}, also when not subscribed:
 *                                          UNCONFIRMED what Graph answers then)
 *   GET  /{page-id}?fields=instagram_business_account
 *
 * Codes are issued by the test (issueBusinessCode / issueUserCode), as Facebook's login window would; the code
 * exchange and the long-lived exchange themselves are the token book's (graph/tokens.ts: one
 * /oauth/access_token for the whole fake, checking the app configured with configureApp). A business token
 * from a code reaches the WABAs of its grant and their numbers: it can send on them afterwards (the rest of the
 * fake accepts it), which is what makes an onboarding test end to end. A long-lived user token made from a
 * user token manages the same Pages. Error shapes are Graph's envelope.
 */
import express, { type Request } from 'express';
import { randomBytes } from 'node:crypto';
import { GraphError, fbtraceId, graphErrors, waError } from './errors';

export interface FakePhoneNumber {
  id: string;
  displayPhoneNumber: string;
  verifiedName: string;
  /** CONNECTED once registered for Cloud API; PENDING before. */
  status: 'CONNECTED' | 'PENDING' | 'DISCONNECTED';
  /** The number's two-step verification PIN, once one is set. */
  pin?: string;
  registerAttempts: number;
}

export interface FakePage {
  id: string;
  name: string;
  instagram?: { id: string; username?: string };
  /** Fields of POST /{page-id}/subscribed_apps, once subscribed; gone again after DELETE. */
  subscribedFields?: string[];
}

interface Waba {
  id: string;
  numbers: Map<string, FakePhoneNumber>;
  subscribedApps: Set<string>;
}

export interface OnboardingHooks {
  /** Lets a token act for these numbers on the rest of the fake (sends, media); none for a user token. */
  grantNumbers(token: string, phoneNumberIds: string[]): void;
  /** A Page token: Messenger for the Page and Instagram for its linked account, on the rest of the fake. */
  grantPage(token: string, grant: { pageId: string; instagramId?: string }): void;
  /** The token book: GET oauth/access_token?code=… gives `token` for `code`, once. */
  addLoginCode(code: string, token: string, type: 'SYSTEM_USER' | 'USER'): void;
  /** The token a long-lived one was exchanged from (the token book's record), if any. */
  exchangedFrom(token: string): string | undefined;
  /** The configured app's id (configureApp). */
  appId(): string | undefined;
  isKnownToken(token: string): boolean;
}

export interface FakeOnboarding {
  addBusinessAccount(waba: { id: string; numbers: Array<Partial<FakePhoneNumber> & { id: string; displayPhoneNumber: string; verifiedName: string }> }): void;
  /** A login code as Embedded Signup would give, for a token reaching these WABAs. */
  issueBusinessCode(grant: { wabaIds: string[] }): string;
  addPage(page: FakePage): void;
  /**
   * A login code as Facebook Login for Business would give, for a user managing these Pages. `userId` is the
   * app-scoped id GET /me answers for its token (a fresh one when not given; read it with userIdOf).
   */
  issueUserCode(grant: { pageIds: string[]; userId?: string; name?: string }): string;
  /** The fake user behind a user code, its token, or a long-lived token made from it. */
  userIdOf(codeOrToken: string): string | undefined;
  /** The system user GET /me names for a business token (Embedded Signup): never the person who signed up. */
  systemUserIdOf(codeOrToken: string): string | undefined;
  subscribedApps(wabaId: string): string[];
  phoneNumber(id: string): FakePhoneNumber | undefined;
  page(id: string): FakePage | undefined;
  /** Every business and user token behind an issued code, in order (long-lived ones: FakeGraph.issuedTokens). */
  readonly issuedTokens: string[];
}

function oauthError(status: number, code: number, message: string): GraphError {
  return new GraphError(status, { error: { message, type: 'OAuthException', code, fbtrace_id: fbtraceId() } });
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header && /^Bearer\s+\S/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  return typeof req.query.access_token === 'string' && req.query.access_token ? req.query.access_token : undefined;
}

export function onboardingApi(hooks: OnboardingHooks): { router: express.Router; api: FakeOnboarding } {
  const wabas = new Map<string, Waba>();
  const numbers = new Map<string, { waba: Waba; number: FakePhoneNumber }>();
  const pages = new Map<string, FakePage>();
  /** Business tokens → WABAs; user tokens → Pages (and each user token's Page tokens). */
  const businessTokens = new Map<string, Set<string>>();
  const userTokens = new Map<string, { pageIds: string[]; pageTokens: Map<string, string>; userId: string; name: string }>();
  /** Business tokens → their Business Integration System User. */
  const systemUsers = new Map<string, { id: string; name: string }>();
  /** Codes → the token they exchange for, so a test can ask about a code it holds. */
  const codeTokens = new Map<string, string>();
  const fakeId = () => `1016${String(randomBytes(6).readUIntBE(0, 6)).padStart(15, '0')}`;
  const pageTokens = new Map<string, string>();
  const issuedTokens: string[] = [];

  const newToken = (prefix: string) => {
    const token = `${prefix}${randomBytes(24).toString('base64url')}`;
    issuedTokens.push(token);
    return token;
  };
  const authenticate = (req: Request): string => {
    const token = bearer(req);
    if (!token) throw graphErrors.missingToken();
    if (!hooks.isKnownToken(token)) throw graphErrors.invalidToken();
    return token;
  };
  const wabaFor = (token: string, id: string, method: 'get' | 'post' | 'delete'): Waba => {
    const waba = wabas.get(id);
    if (!waba || !businessTokens.get(token)?.has(id)) throw graphErrors.unsupported(method, id);
    return waba;
  };
  const numberJson = (n: FakePhoneNumber) => ({
    verified_name: n.verifiedName, code_verification_status: 'VERIFIED', display_phone_number: n.displayPhoneNumber,
    quality_rating: 'GREEN', platform_type: n.status === 'CONNECTED' ? 'CLOUD_API' : 'NOT_APPLICABLE', throughput: { level: 'STANDARD' },
    status: n.status, id: n.id,
  });
  /** Graph answers only the fields asked for (and id); without `fields`, its defaults. */
  const pick = (full: Record<string, unknown>, fields: unknown, defaults: string[]): Record<string, unknown> => {
    const wanted = typeof fields === 'string' && fields ? fields.split(',').map((f) => f.trim()) : defaults;
    return Object.fromEntries(Object.entries(full).filter(([k]) => k === 'id' || wanted.includes(k)));
  };

  const router = express.Router({ mergeParams: true });
  /** A user token's record, directly or through the long-lived token made from it. */
  const userOf = (token: string | undefined) => (token ? userTokens.get(token) ?? userTokens.get(hooks.exchangedFrom(token) ?? '') : undefined);

  router.get('/me', (req, res, next) => {
    const token = authenticate(req);
    const user = userOf(token);
    const system = systemUsers.get(token) ?? systemUsers.get(hooks.exchangedFrom(token) ?? '');
    const pageId = pageTokens.get(token);
    const who = user ? { id: user.userId, name: user.name }
      : system ? system
        : pageId ? { id: pageId, name: pages.get(pageId)?.name ?? pageId }
          : undefined;
    if (!who) { next(); return; }
    res.json(pick({ name: who.name, id: who.id }, req.query.fields, ['name']));
  });

  router.get('/me/accounts', (req, res, next) => {
    // A long-lived token manages what the user token it was made from did.
    const user = userOf(bearer(req));
    if (!user) { next(); return; }
    const data = user.pageIds.map((id) => pages.get(id)).filter((p): p is FakePage => Boolean(p)).map((p) => {
      let pageToken = user.pageTokens.get(p.id);
      if (!pageToken) {
        pageToken = newToken('EAAP-');
        user.pageTokens.set(p.id, pageToken);
        pageTokens.set(pageToken, p.id);
        hooks.grantPage(pageToken, { pageId: p.id, instagramId: p.instagram?.id });
      }
      const full = { access_token: pageToken, category: 'Shopping & retail', name: p.name, id: p.id, tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
        ...(p.instagram ? { instagram_business_account: { id: p.instagram.id } } : {}) };
      return pick(full, req.query.fields, ['access_token', 'category', 'name', 'tasks']);
    });
    res.json({ data, paging: { cursors: { before: 'QVFIUk', after: 'QVFIUl' } } });
  });

  router.post('/:id/subscribed_apps', (req, res, next) => {
    const id = String(req.params.id);
    if (wabas.has(id)) {
      const waba = wabaFor(authenticate(req), id, 'post');
      waba.subscribedApps.add(hooks.appId() ?? 'unknown-app');
      res.json({ success: true });
      return;
    }
    const page = pages.get(id);
    if (!page) { next(); return; }
    const token = authenticate(req);
    if (pageTokens.get(token) !== id) throw graphErrors.unsupported('post', id);
    const raw = req.query.subscribed_fields ?? (req.body as Record<string, unknown> | undefined)?.subscribed_fields;
    if (typeof raw !== 'string' || !raw) throw oauthError(400, 100, '(#100) The parameter subscribed_fields is required.');
    page.subscribedFields = raw.split(',').map((f) => f.trim());
    res.json({ success: true });
  });

  router.delete('/:id/subscribed_apps', (req, res, next) => {
    const id = String(req.params.id);
    if (wabas.has(id)) {
      const waba = wabaFor(authenticate(req), id, 'delete');
      if (!waba.subscribedApps.delete(hooks.appId() ?? 'unknown-app')) {
        throw new GraphError(404, { error: { message: 'WhatsApp Business Account not found or not subscribed', type: 'GraphMethodException', code: 803, fbtrace_id: fbtraceId() } });
      }
      res.json({ success: true });
      return;
    }
    const page = pages.get(id);
    if (!page) { next(); return; }
    const token = authenticate(req);
    if (pageTokens.get(token) !== id) throw graphErrors.unsupported('delete', id);
    delete page.subscribedFields;
    res.json({ success: true });
  });

  router.get('/:id/subscribed_apps', (req, res, next) => {
    const id = String(req.params.id);
    if (!wabas.has(id)) { next(); return; }
    const waba = wabaFor(authenticate(req), id, 'get');
    res.json({ data: [...waba.subscribedApps].map((appId) => ({ whatsapp_business_api_data: { id: appId, name: 'Bridge test app', link: `https://www.facebook.com/games/?app_id=${appId}` } })) });
  });

  router.get('/:id/phone_numbers', (req, res, next) => {
    const id = String(req.params.id);
    if (!wabas.has(id)) { next(); return; }
    const waba = wabaFor(authenticate(req), id, 'get');
    const data = [...waba.numbers.values()].map((n) => pick(numberJson(n), req.query.fields, ['verified_name', 'code_verification_status', 'display_phone_number', 'quality_rating']));
    res.json({ data, paging: { cursors: { before: 'QVFIUk', after: 'QVFIUl' } } });
  });

  router.post('/:id/register', (req, res, next) => {
    const found = numbers.get(String(req.params.id));
    if (!found) { next(); return; }
    const token = authenticate(req);
    if (!businessTokens.get(token)?.has(found.waba.id)) throw graphErrors.unsupported('post', found.number.id);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.messaging_product !== 'whatsapp') throw graphErrors.required('messaging_product');
    if (typeof body.pin !== 'string' || !/^\d{6}$/.test(body.pin)) throw graphErrors.invalidParam('pin must be a 6-digit string');
    const n = found.number;
    n.registerAttempts += 1;
    if (n.registerAttempts > 10) throw waError(400, 133016, 'Account register deregister rate limit exceeded', 'Registration attempts exceeded the limit of 10 in 72 hours.');
    if (n.pin && n.pin !== body.pin) throw waError(400, 133005, 'Two step verification PIN Mismatch', 'Two step verification PIN incorrect.');
    n.pin = body.pin;
    n.status = 'CONNECTED';
    res.json({ success: true });
  });

  router.get('/:id', (req, res, next) => {
    const id = String(req.params.id);
    const number = numbers.get(id);
    if (number) {
      const token = authenticate(req);
      if (!businessTokens.get(token)?.has(number.waba.id)) throw graphErrors.unsupported('get', id);
      res.json(pick(numberJson(number.number), req.query.fields, ['verified_name', 'code_verification_status', 'display_phone_number', 'quality_rating']));
      return;
    }
    const page = pages.get(id);
    if (page && typeof req.query.fields === 'string' && req.query.fields.includes('instagram_business_account')) {
      const token = authenticate(req);
      if (pageTokens.get(token) !== id) throw graphErrors.unsupported('get', id);
      res.json({ ...(page.instagram ? { instagram_business_account: { id: page.instagram.id } } : {}), id });
      return;
    }
    next();
  });

  const api: FakeOnboarding = {
    addBusinessAccount(w) {
      const waba: Waba = { id: w.id, numbers: new Map(), subscribedApps: new Set() };
      for (const n of w.numbers) {
        const number: FakePhoneNumber = { status: 'PENDING', registerAttempts: 0, ...n };
        waba.numbers.set(n.id, number);
        numbers.set(n.id, { waba, number });
      }
      wabas.set(w.id, waba);
    },
    issueBusinessCode(grant) {
      const code = `AQB${randomBytes(24).toString('base64url')}`;
      const token = newToken('EAAB-');
      businessTokens.set(token, new Set(grant.wabaIds));
      systemUsers.set(token, { id: fakeId(), name: 'Bridge test app system user' });
      codeTokens.set(code, token);
      hooks.grantNumbers(token, grant.wabaIds.flatMap((w) => [...(wabas.get(w)?.numbers.keys() ?? [])]));
      hooks.addLoginCode(code, token, 'SYSTEM_USER');
      return code;
    },
    addPage(p) { pages.set(p.id, { ...p }); },
    issueUserCode(grant) {
      const code = `AQU${randomBytes(24).toString('base64url')}`;
      const token = newToken('EAAU-');
      userTokens.set(token, { pageIds: grant.pageIds, pageTokens: new Map(), userId: grant.userId ?? fakeId(), name: grant.name ?? 'Test Admin' });
      codeTokens.set(code, token);
      hooks.grantNumbers(token, []);
      hooks.addLoginCode(code, token, 'USER');
      return code;
    },
    userIdOf: (codeOrToken) => userOf(codeTokens.get(codeOrToken) ?? codeOrToken)?.userId,
    systemUserIdOf: (codeOrToken) => {
      const token = codeTokens.get(codeOrToken) ?? codeOrToken;
      return (systemUsers.get(token) ?? systemUsers.get(hooks.exchangedFrom(token) ?? ''))?.id;
    },
    subscribedApps: (wabaId) => [...(wabas.get(wabaId)?.subscribedApps ?? [])],
    phoneNumber: (id) => numbers.get(id)?.number,
    page: (id) => pages.get(id),
    issuedTokens,
  };
  return { router, api };
}

