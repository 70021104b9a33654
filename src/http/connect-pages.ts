/**
 * The channel connection page, served by the bridge to whoever holds a connect link (POST /admin/connect-links):
 *
 *   GET  /connect/:link                   the page (WhatsApp Embedded Signup, Facebook Pages and Instagram)
 *   POST /connect/:link/whatsapp          { code, event, wabaId, phoneNumberId?, pin?, signedRequest? }
 *   POST /connect/:link/pages/authorize   { code } → the Pages the login manages, and a sealed grant
 *   POST /connect/:link/pages/connect     { grant, pages: [{ pageId, messenger, instagram }] }
 *   GET  /connect-assets/connect.js|.css
 *
 * The only cookie is the CSRF state, strictly necessary and nothing else: random, HttpOnly, SameSite=Strict,
 * 15 minutes, named `__Host-connect_state` (Secure, Path=/, no Domain) when PUBLIC_URL is https. The page
 * repeats the state in an X-Connect-State header on every POST and the two must match, so only the page the
 * bridge served, in the browser it served it to, can post. The page gets its own Content-Security-Policy
 * (scripts from the bridge and the Facebook SDK's origin only, no inline script) and
 * Cross-Origin-Opener-Policy: same-origin-allow-popups, because Facebook's login window reports back through
 * window.opener, which the app-wide `same-origin` would cut.
 */
import { Router, type Request, type Response } from 'express';
import Joi from 'joi';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import { httpErrorOf } from './onboarding-errors';
import { connectPage, problemPage } from './connect-page/html';
import { CONNECT_SCRIPT, CONNECT_STYLES } from './connect-page/browser-script';
import type { ConnectLink, ConnectTokens } from '../onboarding/connect-links';
import { FINISH_EVENTS, type SignupResult, type SignupSession } from '../onboarding/embedded-signup';
import type { AuthorizedPages, PageChoice, PageOutcome } from '../onboarding/page-connect';
import type { ChatwootInstallation, ChatwootInstallationRepository } from '../store/chatwoot-installations';
import type { TenantRepository } from '../store/tenants';
import type { AuditLog } from '../store/audit';
import type { Logger } from '../log/logger';

export interface ConnectPagesDeps {
  publicUrl: string;
  graphVersion: string;
  appId?: string;
  embeddedSignupConfigId?: string;
  pagesConfigId?: string;
  sdkUrl: string;
  tokens: ConnectTokens;
  installations: ChatwootInstallationRepository;
  tenants: TenantRepository;
  audit: AuditLog;
  signup(inst: ChatwootInstallation, session: SignupSession): Promise<SignupResult>;
  authorizePages(tenantId: string, code: string): Promise<AuthorizedPages>;
  connectPages(inst: ChatwootInstallation, grant: string, choices: PageChoice[]): Promise<PageOutcome[]>;
  log: Logger;
}

const STATE_HEADER = 'x-connect-state';
const STATE_MAX_AGE_MS = 15 * 60_000;
const STATE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const NUMERIC_ID = Joi.string().pattern(/^\d{5,30}$/);

const whatsappSchema = Joi.object({
  code: Joi.string().min(1).max(4096).required(),
  event: Joi.string().valid(...FINISH_EVENTS).required(),
  wabaId: NUMERIC_ID.required(),
  phoneNumberId: NUMERIC_ID,
  pin: Joi.string().pattern(/^\d{6}$/, '6 digits'),
  // FB.login's authResponse.signedRequest, verified server side (embedded-signup.ts); a browser's userID is not taken.
  signedRequest: Joi.string().min(1).max(8192),
});
const authorizeSchema = Joi.object({ code: Joi.string().min(1).max(4096).required() });
const connectSchema = Joi.object({
  grant: Joi.string().min(1).max(65_536).required(),
  pages: Joi.array().min(1).max(100).items(Joi.object({
    pageId: NUMERIC_ID.required(),
    messenger: Joi.boolean().required(),
    instagram: Joi.boolean().required(),
  })).required(),
});

/** Origins as CSP sources, each once. */
function sources(...origins: string[]): string {
  return [...new Set(origins)].join(' ');
}

function contentSecurityPolicy(sdkUrl: string, https: boolean): string {
  const sdkOrigin = new URL(sdkUrl).origin;
  // What the Facebook SDK needs beyond its script: its login window and xd iframes on *.facebook.com, calls to
  // graph/www.facebook.com, images from the CDN. Read from how the SDK is documented to work, not checked
  // against the live SDK (the tests use a fake); inline styles because the SDK injects some.
  const facebook = 'https://*.facebook.com';
  return [
    "default-src 'self'",
    `script-src ${sources("'self'", sdkOrigin)}`,
    `connect-src ${sources("'self'", facebook, sdkOrigin)}`,
    `frame-src ${sources(facebook, sdkOrigin)}`,
    `img-src ${sources("'self'", 'data:', facebook, 'https://*.fbcdn.net')}`,
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function connectPagesRouter(deps: ConnectPagesDeps): Router {
  const router = Router();
  const https = deps.publicUrl.startsWith('https:');
  const cookieName = https ? '__Host-connect_state' : 'connect_state';
  const csp = contentSecurityPolicy(deps.sdkUrl, https);
  const flows = {
    whatsapp: Boolean(deps.appId && deps.embeddedSignupConfigId),
    pages: Boolean(deps.appId && deps.pagesConfigId),
  };

  const pageHeaders = (res: Response): void => {
    res.set({
      'Content-Security-Policy': csp,
      'Cross-Origin-Opener-Policy': 'same-origin-allow-popups',
      'Cache-Control': 'no-store',
      'X-Robots-Tag': 'noindex',
    });
  };

  const problem = (res: Response, status: number, title: string, text: string): void => {
    pageHeaders(res);
    res.status(status).type('html').send(problemPage(title, text));
  };

  /** The link and its installation, or the words to show instead. */
  async function resolve(token: string): Promise<{ link: ConnectLink; inst: ChatwootInstallation } | { status: number; title: string; text: string }> {
    const opened = deps.tokens.openLink(token);
    if ('invalid' in opened) {
      return opened.invalid === 'expired'
        ? { status: 410, title: 'This link has expired', text: 'Connection links work for a limited time. Ask your administrator for a new one.' }
        : { status: 404, title: 'This link is not valid', text: 'The address is incomplete or was not made by this bridge. Copy the whole link again, or ask your administrator for a new one.' };
    }
    const inst = await deps.installations.findById(opened.link.installationId, { tenantId: opened.link.tenantId });
    if (!inst) {
      return { status: 410, title: 'Chatwoot is no longer installed', text: 'The Chatwoot installation this link was made for has been removed. Ask your administrator to install it again and send a new link.' };
    }
    return { link: opened.link, inst };
  }

  router.get('/connect-assets/connect.js', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/javascript').send(CONNECT_SCRIPT);
  });
  router.get('/connect-assets/connect.css', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('text/css').send(CONNECT_STYLES);
  });

  router.get('/connect/:link', async (req, res) => {
    const found = await resolve(String(req.params.link));
    if ('status' in found) { problem(res, found.status, found.title, found.text); return; }
    const tenant = await deps.tenants.findById(found.link.tenantId);
    if (!tenant) { problem(res, 410, 'This account no longer exists', 'The account this link was made for has been deleted.'); return; }
    // A second tab of the same browser keeps the state it already has, so both tabs stay usable.
    const held = cookieValue(req, cookieName);
    const state = held && STATE_PATTERN.test(held) ? held : randomBytes(32).toString('base64url');
    res.cookie(cookieName, state, { httpOnly: true, sameSite: 'strict', secure: https, path: '/', maxAge: STATE_MAX_AGE_MS });
    pageHeaders(res);
    res.type('html').send(connectPage({
      base: `/connect/${encodeURIComponent(String(req.params.link))}`,
      state,
      appId: deps.appId,
      graphVersion: deps.graphVersion,
      sdkUrl: deps.sdkUrl,
      embeddedSignupConfigId: deps.embeddedSignupConfigId,
      pagesConfigId: deps.pagesConfigId,
    }, { tenantName: tenant.name, chatwootUrl: found.inst.baseUrl, accountId: found.inst.accountId, expiresAt: found.link.expiresAt }));
  });

  const posts = Router({ mergeParams: true });
  posts.use(...jsonBody({ limit: '96kb' }));
  /** Link valid, installation there, and the CSRF state of this browser echoed: only then does a POST run. */
  posts.use(async (req, res, next) => {
    const found = await resolve(String(req.params.link));
    if ('status' in found) throw new HttpError(found.status === 410 ? 'gone' : 'not_found', `${found.title}. ${found.text}`);
    const cookie = cookieValue(req, cookieName);
    const echoed = req.get(STATE_HEADER);
    if (!cookie || !echoed || !same(cookie, echoed)) {
      throw new HttpError('forbidden', 'This page has expired or was opened in another browser. Reload the page from its link and try again.');
    }
    res.locals.connect = found;
    next();
  });

  const context = (res: Response) => res.locals.connect as { link: ConnectLink; inst: ChatwootInstallation };
  const validated = <T>(schema: Joi.Schema, body: unknown): T => {
    const { value, error } = schema.validate(body, { abortEarly: false });
    if (error) throw new HttpError('invalid_request', 'The page sent something this bridge does not understand. Reload the page and try again.', error.details.map((d) => d.message));
    return value as T;
  };

  posts.post('/whatsapp', async (req, res) => {
    if (!flows.whatsapp) throw new HttpError('invalid_request', 'WhatsApp signup is not configured on this bridge (META_APP_ID, META_CONFIG_ID).');
    const session = validated<SignupSession>(whatsappSchema, req.body);
    const { link, inst } = context(res);
    let result: SignupResult;
    try {
      result = await deps.signup(inst, session);
    } catch (err) {
      throw httpErrorOf(err, deps.log, { step: 'embedded-signup', linkId: link.id, tenantId: link.tenantId, requestId: res.locals.requestId });
    }
    const { placed } = result;
    await deps.audit.record({
      tenantId: link.tenantId, actor: link.createdBy, action: 'connection.onboard', target: { type: 'connection', id: placed.connection.id },
      details: { via: 'connect-page', linkId: link.id, channel: 'whatsapp', created: placed.createdConnection, inboxId: placed.inbox.inboxId, inboxCreated: placed.inbox.created, registration: result.registration },
    });
    const registered = result.registration === 'registered' ? ' It is registered for the Cloud API.'
      : result.registration === 'left_to_business_app' ? ' It stays on the WhatsApp Business app too (coexistence).' : '';
    res.status(placed.createdConnection ? 201 : 200).json({
      message: `Connected WhatsApp number ${result.phone.masked}${result.phone.verifiedName ? ` (${result.phone.verifiedName})` : ''}: its messages now go to the Chatwoot inbox "${placed.inbox.name}".${registered}`,
      connection: { id: placed.connection.id, name: placed.connection.name, channel: 'whatsapp', created: placed.createdConnection },
      inbox: { id: placed.inbox.inboxId, name: placed.inbox.name, created: placed.inbox.created, signed: placed.inbox.signed },
      registration: result.registration,
      ...(result.generatedPin ? { generatedPin: result.generatedPin } : {}),
    });
  });

  posts.post('/pages/authorize', async (req, res) => {
    if (!flows.pages) throw new HttpError('invalid_request', 'Connecting Pages is not configured on this bridge (META_APP_ID, META_PAGES_CONFIG_ID).');
    const { code } = validated<{ code: string }>(authorizeSchema, req.body);
    const { link } = context(res);
    try {
      res.json(await deps.authorizePages(link.tenantId, code));
    } catch (err) {
      throw httpErrorOf(err, deps.log, { step: 'pages-authorize', linkId: link.id, tenantId: link.tenantId, requestId: res.locals.requestId });
    }
  });

  posts.post('/pages/connect', async (req, res) => {
    if (!flows.pages) throw new HttpError('invalid_request', 'Connecting Pages is not configured on this bridge (META_APP_ID, META_PAGES_CONFIG_ID).');
    const body = validated<{ grant: string; pages: PageChoice[] }>(connectSchema, req.body);
    const { link, inst } = context(res);
    let outcomes: PageOutcome[];
    try {
      outcomes = await deps.connectPages(inst, body.grant, body.pages);
    } catch (err) {
      throw httpErrorOf(err, deps.log, { step: 'pages-connect', linkId: link.id, tenantId: link.tenantId, requestId: res.locals.requestId });
    }
    for (const o of outcomes) {
      if (o.error) deps.log.warn('a Page could not be connected', { linkId: link.id, pageId: o.pageId, reason: o.error });
      for (const c of o.connected) {
        await deps.audit.record({
          tenantId: link.tenantId, actor: link.createdBy, action: 'connection.onboard', target: { type: 'connection', id: c.connectionId },
          details: { via: 'connect-page', linkId: link.id, channel: c.channel, created: c.created, inboxId: c.inboxId },
        });
      }
    }
    res.json({
      results: outcomes.map((o) => ({
        pageId: o.pageId, name: o.name, connected: o.connected, error: Boolean(o.error),
        message: o.error
          ? `${o.name}: ${o.connected.length ? `${o.connected.map((c) => c.channel).join(' and ')} connected, but ` : ''}${o.error}`
          : `${o.name}: ${o.connected.map((c) => `${c.channel === 'messenger' ? 'Messenger' : 'Instagram'} → Chatwoot inbox "${c.inboxName}"`).join(', ')}.`,
      })),
    });
  });

  router.use('/connect/:link', posts);
  return router;
}
