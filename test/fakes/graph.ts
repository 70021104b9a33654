/**
 * A fake of Meta's Graph API for WhatsApp Cloud, over real HTTP on 127.0.0.1 (random port). It answers like
 * Graph does (meta-api-notes §1 auth + error envelope, §3 send, §4 media) and refuses what Graph refuses:
 * unknown tokens (401/190), missing tokens (401/104), a wrong API version, malformed sends (400/100, 131009),
 * bad uploads (131053), throughput over the limit (130429), expired media URLs (404).
 *
 * It also fakes the Messenger / Instagram Send API and User Profile API (graph/send-api.ts), on both hosts:
 * graph.facebook.com at `/{version}/…` and graph.instagram.com at `/ig-host/{version}/…` (point
 * META_INSTAGRAM_GRAPH_BASE_URL at `<url>/ig-host`), and a CDN (`/cdn/…`, no token) for webhook attachment links.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { randomBytes } from 'node:crypto';
import { FailureQueue, listen, newLogEntry, summarizeMultipart, type LoggedRequest, type ParsedMultipart } from './http-fake';
import { GraphError, defaultBodyFor, fbtraceId, graphErrors, type GraphErrorResponse } from './graph/errors';
import { MediaStore, deleteMedia, downloadMedia, getMedia, uploadMedia, type MediaContext, type StoredMedia } from './graph/media';
import { validateSend, type MessageType } from './graph/send-validation';
import { TokenBook, type FakeTokenMeta, type IssuedFakeToken } from './graph/tokens';
import {
  isProfilePath, isSendApiPath, profile, sendApiMessage, userKey,
  type GraphHost, type MessagingGrant, type MessagingUser, type SendApiContext, type SendApiMessage,
} from './graph/send-api';
import { onboardingApi, type FakeOnboarding } from './graph/onboarding';

export { graphErrors, GraphError } from './graph/errors';
export type { StoredMedia } from './graph/media';
export { sendApiErrors } from './graph/send-api';
export type { MessagingUser, SendApiMessage } from './graph/send-api';
export type { FakeTokenMeta, IssuedFakeToken } from './graph/tokens';
export type { FakeOnboarding, FakePhoneNumber, FakePage } from './graph/onboarding';

export interface FakeGraphOptions {
  /** The one API version this fake serves; default 'v25.0'. Any other version in a path is refused. */
  version?: string;
  /** How long a media URL from GET /{media-id} stays downloadable; default 5 minutes (Meta's figure). */
  mediaUrlTtlMs?: number;
  /** Messages per second accepted per phone number before 130429; default unlimited. */
  throughputPerSecond?: number;
}

export interface SentMessage {
  /** The wamid the fake assigned. */
  id: string;
  phoneNumberId: string;
  to?: string;
  recipient?: string;
  type: MessageType;
  replyTo?: string;
  /** The request body as sent. */
  body: Record<string, unknown>;
  at: number;
}

export interface ReadReceipt {
  phoneNumberId: string;
  messageId: string;
  typing: boolean;
  at: number;
}

export interface FakeGraph {
  readonly url: string;
  readonly version: string;
  /** Every request, in arrival order; JSON bodies parsed, multipart bodies summarised. */
  readonly requests: LoggedRequest[];
  /** Messages accepted by POST /{phone-number-id}/messages. */
  readonly sent: SentMessage[];
  /** Accepted mark-as-read (and typing indicator) calls. */
  readonly reads: ReadReceipt[];
  /**
   * Runs after a message is accepted and before the response is written (to race status webhooks ahead of it).
   * `message`: the WhatsApp message accepted (absent for the Send API).
   */
  onSend(hook: ((wamid: string, message?: SentMessage) => Promise<void>) | undefined): void;
  /**
   * The next `times` messages (WhatsApp or Send API) are accepted (kept in `sent` / `sendApi`, as Meta would send
   * them) but get no answer: the connection is cut, as when the sender's process dies or the network breaks after
   * Graph took the request.
   */
  loseAnswers(times: number): void;
  /** Only known tokens pass; with phoneNumberIds, the token works for those numbers only. */
  addToken(token: string, opts?: { phoneNumberIds?: string[] }): void;
  /** Forget a token (a revoked or expired token then gets 401/190). */
  removeToken(token: string): void;
  addMedia(media: { id?: string; bytes: Buffer; mimeType: string; filename?: string; phoneNumberId?: string }): string;
  media(id: string): StoredMedia | undefined;
  /** The next `times` requests whose path matches get this answer (body defaults to a Graph envelope for the status). */
  failNext(path: RegExp, times: number, response: GraphErrorResponse): void;
  /** Messages accepted by the Send API (Messenger, Instagram), on either host. */
  readonly sendApi: SendApiMessage[];
  /** A Page token: Messenger for the Page, and Instagram for the account linked to it (graph.facebook.com). */
  addPageToken(token: string, grant: { pageId: string; instagramId?: string }): void;
  /** An Instagram-Login token for one Instagram account (graph.instagram.com only). */
  addInstagramLoginToken(token: string, grant: { instagramId: string }): void;
  /** A customer of a Page / Instagram account: who may be messaged, their profile, when they last wrote (default now). */
  addMessagingUser(user: { businessId: string; id: string; profile?: Record<string, string>; lastMessageAt?: number; unavailable?: boolean }): MessagingUser;
  /** The customer wrote now (or at `at`): the windows are measured from here. */
  customerWrote(businessId: string, userId: string, at?: number): void;
  /** A file on the fake CDN (like fbcdn / lookaside links in Messenger webhooks): served without a token. */
  addCdnFile(file: { bytes: Buffer; mimeType: string; name?: string }): string;
  /** Embedded Signup and Facebook Login: codes, token exchange, WABAs and their numbers, Pages (graph/onboarding.ts). */
  readonly onboarding: FakeOnboarding;
  /** The app debug_token and oauth/access_token accept (client_id / client_secret, app token `<id>|<secret>`). */
  configureApp(app: { id: string; secret: string }): void;
  /** What a known token is for debug_token and renewals: kind, expiry (ms; undefined = never), scopes, `renewal`. */
  setTokenMeta(token: string, meta: Partial<FakeTokenMeta>): void;
  tokenMeta(token: string): FakeTokenMeta | undefined;
  /** Revoke a token: every call then answers 190 with this subcode (460: the user changed their password). */
  invalidateToken(token: string, subcode?: number, message?: string): void;
  /** A login code GET oauth/access_token?code=… exchanges (once) for `token`. */
  addLoginCode(code: string, token: string): void;
  /** Tokens the fake issued by exchange, refresh or code, in order. */
  readonly issuedTokens: IssuedFakeToken[];
  /** Clears requests, sent, reads, media, pending failures and throughput counters. Tokens stay. */
  reset(): void;
  close(): Promise<void>;
}

interface TokenGrant {
  phoneNumberIds?: Set<string>;
  /** Page and Instagram-Login tokens (and the host they work on); they act for no WhatsApp number. */
  messaging?: MessagingGrant;
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header && /^Bearer\s+\S/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  // Graph also takes ?access_token= (UNCONFIRMED for the WhatsApp endpoints; harmless for a fake).
  return typeof req.query.access_token === 'string' && req.query.access_token ? req.query.access_token : undefined;
}

function wamid(): string {
  return `wamid.${randomBytes(30).toString('base64')}`;
}

export async function startFakeGraph(opts: FakeGraphOptions = {}): Promise<FakeGraph> {
  const version = opts.version ?? 'v25.0';
  const tokens = new Map<string, TokenGrant>();
  const store = new MediaStore();
  const failures = new FailureQueue<GraphErrorResponse>();
  const requests: LoggedRequest[] = [];
  const sent: SentMessage[] = [];
  const reads: ReadReceipt[] = [];
  let beforeSendResponse: ((wamid: string, message?: SentMessage) => Promise<void>) | undefined;
  let answersToLose = 0;
  const windows = new Map<string, number[]>();
  let baseUrl = '';
  const messagingUsers = new Map<string, MessagingUser>();
  const sendApiSent: SendApiMessage[] = [];
  const cdn = new Map<string, { bytes: Buffer; mimeType: string }>();
  // A renewed token acts for what the old one did.
  const book = new TokenBook((t) => tokens.has(t), (from, to) => {
    const grant = tokens.get(from);
    if (grant) tokens.set(to, grant);
  });
  const sendApiCtx: SendApiContext = {
    grantOf: (token) => (book.refusal(token) ? undefined : tokens.get(token)?.messaging),
    users: messagingUsers,
    sent: sendApiSent,
    beforeResponse: () => beforeSendResponse,
    loseAnswer: () => answersToLose > 0 && answersToLose-- > 0,
    overThroughput: (senderId) => overThroughput(senderId),
  };

  const mayUse = (token: string, phoneNumberId: string): boolean => {
    const grant = tokens.get(token);
    return Boolean(grant) && /^\d+$/.test(phoneNumberId) && (!grant!.phoneNumberIds || grant!.phoneNumberIds.has(phoneNumberId));
  };
  const mediaCtx: MediaContext = {
    store, baseUrl: () => baseUrl, ttlMs: opts.mediaUrlTtlMs ?? 5 * 60_000,
    knownToken: (t) => t !== undefined && tokens.has(t), mayUse,
  };

  const authenticate = (req: Request): string => {
    const token = bearer(req);
    if (!token) throw graphErrors.missingToken();
    if (!tokens.has(token)) throw graphErrors.invalidToken();
    const refused = book.refusal(token);
    if (refused) throw refused;
    return token;
  };
  const phoneNumber = (req: Request, token: string): string => {
    const pnid = String(req.params.pnid);
    if (!mayUse(token, pnid)) throw graphErrors.unsupported('post', pnid);
    return pnid;
  };
  const overThroughput = (pnid: string): boolean => {
    if (!opts.throughputPerSecond) return false;
    const now = Date.now();
    const recent = (windows.get(pnid) ?? []).filter((t) => now - t < 1000);
    windows.set(pnid, recent);
    if (recent.length >= opts.throughputPerSecond) return true;
    recent.push(now);
    return false;
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const entry = newLogEntry(req);
    requests.push(entry);
    res.locals.logEntry = entry;
    res.set({ 'x-fb-trace-id': fbtraceId(), 'x-fb-request-id': fbtraceId(), 'facebook-api-version': version });
    res.on('finish', () => {
      const parsed = res.locals.parsedMultipart as ParsedMultipart | undefined;
      if (parsed) entry.body = summarizeMultipart(parsed);
    });
    const injected = failures.take(req.path);
    if (!injected) return next();
    res.status(injected.status).set(injected.headers ?? {});
    if (injected.body === undefined) res.json(defaultBodyFor(injected.status));
    else if (typeof injected.body === 'string') res.send(injected.body);
    else res.json(injected.body);
  });
  app.use(express.json({ limit: '10mb' }));
  app.use((req, res, next) => {
    if (req.body !== undefined) (res.locals.logEntry as LoggedRequest).body = req.body;
    next();
  });

  app.get('/whatsapp_business/attachments/', (req, res) => downloadMedia(mediaCtx, req, res));
  app.get('/cdn/:key', (req, res) => {
    const file = cdn.get(String(req.params.key));
    if (!file) { res.status(404).type('text/plain').send('Not Found'); return; }
    res.status(200).set({ 'Content-Type': file.mimeType, 'Content-Length': String(file.bytes.length) }).end(file.bytes);
  });

  // Send API and profiles: graph.facebook.com (Page tokens) below, graph.instagram.com (Instagram-Login tokens) here.
  const sendApiOn = (host: GraphHost) => {
    const router = express.Router({ mergeParams: true });
    router.post('/:pnid/messages', async (req, res, next) => {
      if (!isSendApiPath(sendApiCtx, req, host)) { next(); return; }
      await sendApiMessage(sendApiCtx, req, res, host);
    });
    router.get('/:id', (req, res, next) => {
      if (host === 'facebook' && !isProfilePath(sendApiCtx, req)) { next(); return; }
      profile(sendApiCtx, req, res, host);
    });
    return router;
  };
  const checkVersion = (req: Request, _res: Response, next: NextFunction): void => {
    if (req.params.version !== version) throw graphErrors.unknownPath(req.originalUrl.split('?')[0]!);
    next();
  };
  app.get('/ig-host/refresh_access_token', (req, res) => book.refreshInstagram(req, res));
  app.use('/ig-host/:version', checkVersion, sendApiOn('instagram'));

  const onboarding = onboardingApi({
    grantNumbers: (token, phoneNumberIds) => tokens.set(token, { phoneNumberIds: new Set(phoneNumberIds) }),
    grantPage: (token, grant) => tokens.set(token, { phoneNumberIds: new Set(), messaging: { host: 'facebook', ...grant } }),
    addLoginCode: (code, token, type) => { book.set(token, { type, issuedAt: Date.now() }); book.codes.set(code, token); },
    exchangedFrom: (token) => book.issued.find((i) => i.to === token && i.via === 'fb_exchange_token')?.from,
    appId: () => book.app?.id,
    isKnownToken: (token) => tokens.has(token) && !book.refusal(token),
  });

  const versioned = express.Router({ mergeParams: true });
  versioned.get('/debug_token', (req, res) => book.debugToken(req, res, bearer(req)));
  versioned.get('/oauth/access_token', (req, res) => book.accessToken(req, res));
  versioned.use(onboarding.router);
  versioned.use(sendApiOn('facebook'));
  versioned.post('/:pnid/messages', async (req, res) => {
    const token = authenticate(req);
    const pnid = phoneNumber(req, token);
    const request = validateSend(req.body);
    if (request.kind === 'read') {
      reads.push({ phoneNumberId: pnid, messageId: request.messageId, typing: request.typing, at: Date.now() });
      res.json({ success: true });
      return;
    }
    if (overThroughput(pnid)) throw graphErrors.throughput();
    const id = wamid();
    const message: SentMessage = { id, phoneNumberId: pnid, to: request.to, recipient: request.recipient, type: request.type, replyTo: request.replyTo, body: req.body, at: Date.now() };
    sent.push(message);
    // Meta's status webhook can reach the receiver before this response does; a test hook recreates that race.
    if (beforeSendResponse) await beforeSendResponse(id, message);
    if (answersToLose > 0) {
      answersToLose -= 1;
      req.socket.destroy();
      return;
    }
    // `to` wins over `recipient` (BSUID) when both are present (WA-BSUID); see meta/whatsapp-send-response*.json.
    const contact = request.to
      ? { input: request.to, wa_id: request.to.replace(/\D/g, '') }
      : { input: request.recipient!, user_id: request.recipient! };
    res.json({ messaging_product: 'whatsapp', contacts: [contact], messages: [{ id }] });
  });
  versioned.post('/:pnid/media', async (req, res) => {
    const token = authenticate(req);
    await uploadMedia(mediaCtx, req, res, phoneNumber(req, token));
  });
  versioned.get('/:id', (req, res) => getMedia(mediaCtx, req, res, authenticate(req)));
  versioned.delete('/:id', (req, res) => deleteMedia(mediaCtx, req, res, authenticate(req)));

  app.use('/:version', checkVersion, versioned);
  app.use((req) => {
    throw graphErrors.unsupported(req.method === 'GET' ? 'get' : req.method === 'DELETE' ? 'delete' : 'post', req.path.split('/').pop() ?? '');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof GraphError) {
      res.status(err.status).json(err.body);
      return;
    }
    const status = (err as { status?: number; type?: string }).status;
    if (status && status < 500) {
      // Body parser failures (malformed JSON, too large) and bad multipart.
      res.status(400).json(graphErrors.invalidParam(`Invalid request body: ${(err as Error).message}`).body);
      return;
    }
    res.status(500).json(graphErrors.unknown().body);
  });

  const server = await listen(app);
  baseUrl = server.url;

  return {
    url: server.url,
    version,
    requests,
    sent,
    reads,
    loseAnswers(times) {
      answersToLose = times;
    },
    onSend(hook) {
      beforeSendResponse = hook;
    },
    addToken(token, o = {}) {
      tokens.set(token, { phoneNumberIds: o.phoneNumberIds ? new Set(o.phoneNumberIds) : undefined });
    },
    removeToken(token) {
      tokens.delete(token);
    },
    sendApi: sendApiSent,
    onboarding: onboarding.api,
    addPageToken(token, grant) {
      tokens.set(token, { phoneNumberIds: new Set(), messaging: { host: 'facebook', ...grant } });
    },
    addInstagramLoginToken(token, grant) {
      tokens.set(token, { phoneNumberIds: new Set(), messaging: { host: 'instagram', instagramId: grant.instagramId } });
    },
    addMessagingUser(u) {
      const user: MessagingUser = { businessId: u.businessId, id: u.id, profile: u.profile ?? {}, lastMessageAt: u.lastMessageAt ?? Date.now(), unavailable: u.unavailable };
      messagingUsers.set(userKey(u.businessId, u.id), user);
      return user;
    },
    customerWrote(businessId, userId, at = Date.now()) {
      const user = messagingUsers.get(userKey(businessId, userId));
      if (!user) throw new Error(`fake Graph: no messaging user ${userId} of ${businessId}`);
      user.lastMessageAt = at;
    },
    addCdnFile(file) {
      const key = `${randomBytes(12).toString('base64url')}${file.name ? `-${file.name.replace(/[^\w.-]/g, '')}` : ''}`;
      cdn.set(key, { bytes: file.bytes, mimeType: file.mimeType });
      return `${baseUrl}/cdn/${key}`;
    },
    addMedia: (m) => store.add(m),
    media: (id) => store.items.get(id),
    failNext: (path, times, response) => failures.add(path, times, response),
    configureApp(app) {
      book.app = app;
    },
    setTokenMeta: (token, meta) => book.set(token, meta),
    tokenMeta: (token) => book.meta.get(token),
    invalidateToken(token, subcode = 460, message = 'The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.') {
      book.set(token, { invalidated: { subcode, message } });
    },
    addLoginCode(code, token) {
      book.codes.set(code, token);
    },
    issuedTokens: book.issued,
    reset() {
      requests.length = 0;
      sent.length = 0;
      reads.length = 0;
      store.clear();
      failures.clear();
      answersToLose = 0;
      windows.clear();
      sendApiSent.length = 0;
      messagingUsers.clear();
      cdn.clear();
    },
    close: () => server.close(),
  };
}
