/**
 * A fake of Chatwoot v4.15.1 (Application API + API-inbox webhooks), in memory, over real HTTP on 127.0.0.1
 * (random port). It answers like Chatwoot (chatwoot-api-notes §1–2, §6) and refuses what Chatwoot refuses:
 * bad tokens (401), foreign accounts (401), unknown records (404), non-E.164 or duplicate phones (422), the
 * per-conversation flood guard (422), rack-attack throttling (429 "Retry later"). Every message created, through
 * the API too, is echoed to the inbox's webhook_url, signed when the inbox has a secret.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { FailureQueue, listen, newLogEntry, type LoggedRequest } from './http-fake';
import { createMessage, setConversationStatus, type NewFile } from './chatwoot/conversations';
import { CwError, type ConversationStatus, type Inbox, type Json } from './chatwoot/model';
import { applicationApi } from './chatwoot/routes';
import { profileOf } from './chatwoot/inboxes';
import { ChatwootState } from './chatwoot/state';
import { Views, type ConversationRecord, type MessageRecord } from './chatwoot/views';
import { WebhookDispatcher, type WebhookDelivery } from './chatwoot/webhooks';

export type { ConversationRecord, MessageRecord } from './chatwoot/views';
export type { WebhookDelivery } from './chatwoot/webhooks';
export type { Inbox } from './chatwoot/model';
export { railsJson, signChatwoot } from './chatwoot/webhooks';

export interface FakeChatwootOptions {
  /**
   * rack-attack style throttle over all requests: fixed windows of windowMs, at most max requests each.
   * Over it: 429, text/plain "Retry later\n". rack-attack 6.x sends Retry-After only when
   * throttled_response_retry_after_header is enabled, and Chatwoot's initializer (as read) does not enable it;
   * the fake sends it by default (as asked) — pass retryAfterHeader: false for the stock behaviour.
   */
  rateLimit?: { max: number; windowMs: number; retryAfterHeader?: boolean };
  /** CONVERSATION_MESSAGE_PER_MINUTE_LIMIT; default 200. */
  messagesPerMinuteLimit?: number;
  /** WEBHOOK_TIMEOUT; default 5000 ms. */
  webhookTimeoutMs?: number;
}

/**
 * Random faults over the Application API (/api/…), for chaos runs: a share of calls fail without doing anything
 * (a proxy or Rails before the commit), a share do their work and then answer 500 (the answer is lost after the
 * commit: the caller cannot tell), a share are throttled with Retry-After, a share hang. Checked in that order,
 * one draw each.
 */
export interface ChatwootFaults {
  /** Share of calls (0–1) answered 500, 502 or 503 before any work is done. */
  serverErrorRate?: number;
  /** Share of calls (0–1) whose work is done and whose answer is then replaced by a 500. */
  errorAfterWorkRate?: number;
  /** Share of calls (0–1) answered 429 "Retry later" with Retry-After: retryAfterS (default 1). */
  throttleRate?: number;
  retryAfterS?: number;
  /** Share of calls (0–1) that are never answered and never worked on (the caller's own time limit ends them). */
  hangRate?: number;
  /** Where the draws come from (seeded in chaos runs, so a run repeats); Math.random by default. */
  random?: () => number;
}

export interface ContactRecord {
  id: number;
  name: string;
  email: string | null;
  phone_number: string | null;
  identifier: string | null;
  blocked: boolean;
  /** What the bridge sent as avatar_url (real Chatwoot downloads it into the contact's avatar). */
  avatar_url: string | null;
  additional_attributes: Json;
  custom_attributes: Json;
  contact_inboxes: Array<{ inbox_id: number; source_id: string }>;
}

export interface AgentReply {
  content?: string | null;
  attachments?: Array<{ bytes: Buffer; mimeType: string; filename: string }>;
  contentAttributes?: Json;
  private?: boolean;
  contentType?: string;
  /** 'outgoing' (default) or 'template'. */
  messageType?: 'outgoing' | 'template';
}

export interface FakeChatwoot {
  readonly url: string;
  readonly requests: LoggedRequest[];
  /** Every webhook POST made, with the exact body and headers, and how the receiver answered. */
  readonly webhookDeliveries: WebhookDelivery[];
  /**
   * An account and a user token on it (header api_access_token). A token may be added to several accounts.
   * role: the user's role on the account (default administrator); agents cannot create or change inboxes.
   */
  addAccount(account: { id: number; token: string; name?: string; role?: 'administrator' | 'agent' }): void;
  /**
   * An API-channel inbox. secret: undefined → a generated one (Chatwoot >= 4.13 signs every API inbox);
   * null → unsigned deliveries (older Chatwoot). The returned record is live: later changes apply.
   */
  addInbox(accountId: number, inbox?: { id?: number; name?: string; webhookUrl?: string; secret?: string | null }): Inbox;
  updateInbox(accountId: number, inboxId: number, changes: { name?: string; webhookUrl?: string; secret?: string | null }): Inbox;
  contacts(accountId: number): ContactRecord[];
  conversations(accountId: number): ConversationRecord[];
  /** Messages in creation order; attachments carry filename, content_type, byte_length, sha256 (hex) and bytes. */
  messages(accountId: number, conversationDisplayId?: number): MessageRecord[];
  /** An agent replying in the dashboard: an outgoing message by a user, then message_created to the webhook. */
  createAgentReply(accountId: number, conversationDisplayId: number, reply: AgentReply): MessageRecord;
  /** An agent changing the status in the dashboard (fires conversation_status_changed / conversation_updated). */
  setConversationStatus(accountId: number, conversationDisplayId: number, status: ConversationStatus): void;
  /**
   * The next `times` requests whose path matches get this answer. Default body: 429 → "Retry later\n", 401/404 → Chatwoot's
   * {"error"} texts, anything else → Rails' {"status","error"}.
   */
  failNext(path: RegExp, times: number, response: { status: number; body?: unknown; headers?: Record<string, string> }): void;
  /**
   * down=true, how='reset' (default): every open and new connection is destroyed at once (clients see ECONNRESET /
   * "socket hang up"; the port stays bound, so nothing else can take it). how=503: a proxy-style 503 page instead.
   */
  setDown(down: boolean, how?: 'reset' | 503): void;
  /** Random faults from now on (undefined: none). */
  setFaults(faults: ChatwootFaults | undefined): void;
  /** Resolves once every webhook delivery caused so far (and the failures they caused) has finished. */
  webhooksSettled(): Promise<void>;
  /** Clears contacts, conversations, messages, request and delivery logs, failures, throttle and down state. Accounts, tokens, inboxes stay. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeChatwoot(opts: FakeChatwootOptions = {}): Promise<FakeChatwoot> {
  const state = new ChatwootState(opts.messagesPerMinuteLimit ?? 200);
  let baseUrl = '';
  const views = new Views(state, () => baseUrl);
  const dispatcher = new WebhookDispatcher(state, views, opts.webhookTimeoutMs ?? 5000);
  const failures = new FailureQueue<{ status: number; body?: unknown; headers?: Record<string, string> }>();
  const requests: LoggedRequest[] = [];
  let down503 = false;
  let throttle = { start: 0, count: 0 };
  let faults: ChatwootFaults | undefined;
  const SERVER_ERRORS = [500, 502, 503] as const;

  /** True when the fault answered the request itself; an after-work fault only swaps the answer once it is ready. */
  const randomFault = (_req: Request, res: Response, f: ChatwootFaults): boolean => {
    const draw = f.random ?? Math.random;
    if (draw() < (f.serverErrorRate ?? 0)) {
      const status = SERVER_ERRORS[Math.floor(draw() * SERVER_ERRORS.length)]!;
      res.status(status).json({ status, error: STATUS_CODES[status] });
      return true;
    }
    if (draw() < (f.errorAfterWorkRate ?? 0)) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        if (res.statusCode >= 300) return json(body);
        res.status(500);
        return json({ status: 500, error: 'Internal Server Error' });
      };
      return false;
    }
    if (draw() < (f.throttleRate ?? 0)) {
      res.status(429).set('Retry-After', String(f.retryAfterS ?? 1)).type('text/plain').send('Retry later\n');
      return true;
    }
    // Left open: closed by the caller's timeout, or by close().
    return draw() < (f.hangRate ?? 0);
  };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const entry = newLogEntry(req);
    requests.push(entry);
    res.locals.logEntry = entry;
    if (down503) {
      res.status(503).type('text/html').send('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n');
      return;
    }
    const injected = failures.take(req.path);
    if (injected) {
      res.status(injected.status).set(injected.headers ?? {});
      if (injected.body === undefined) {
        if (injected.status === 429) res.type('text/plain').send('Retry later\n');
        else if (injected.status === 401) res.json({ error: 'Invalid Access Token' });
        else if (injected.status === 404) res.json({ error: 'Resource could not be found' });
        else res.json({ status: injected.status, error: STATUS_CODES[injected.status] ?? 'Error' });
      } else if (typeof injected.body === 'string') res.send(injected.body);
      else res.json(injected.body);
      return;
    }
    if (faults && req.path.startsWith('/api/') && randomFault(req, res, faults)) return;
    if (opts.rateLimit) {
      // Rack::Attack fixed window: key "#{Time.now.to_i / period}".
      const now = Date.now();
      const start = now - (now % opts.rateLimit.windowMs);
      if (throttle.start !== start) throttle = { start, count: 0 };
      throttle.count += 1;
      if (throttle.count > opts.rateLimit.max) {
        if (opts.rateLimit.retryAfterHeader !== false) res.set('Retry-After', String(Math.max(1, Math.ceil((start + opts.rateLimit.windowMs - now) / 1000))));
        res.status(429).type('text/plain').send('Retry later\n');
        return;
      }
    }
    next();
  });
  app.use(express.json({ limit: '50mb' }));
  app.use(express.urlencoded({ extended: true, limit: '50mb' }));
  app.use((req, res, next) => {
    if (req.body !== undefined) (res.locals.logEntry as LoggedRequest).body = req.body;
    next();
  });

  app.use('/api/v1/accounts/:account_id', applicationApi(state, views, dispatcher));
  app.get('/api/v1/profile', (req, res) => { res.json(profileOf(state, req)); });

  // ActiveStorage: data_url redirects (302, like Rails' blobs/redirect controller; the notes' comment says 301)
  // to a disk URL that serves the bytes. No auth: the signed blob id is the credential.
  const attachmentByKey = (key: string) => [...state.messages.values()].flatMap((m) => m.attachments).find((a) => a.blobKey === key);
  app.get(['/rails/active_storage/blobs/redirect/:key/:filename', '/rails/active_storage/representations/redirect/:key/:filename'], (req, res) => {
    const a = attachmentByKey(String(req.params.key));
    if (!a) throw new CwError(404, 'Not Found');
    res.redirect(302, `${baseUrl}/rails/active_storage/disk/${a.blobKey}/${encodeURIComponent(a.filename)}`);
  });
  app.get('/rails/active_storage/disk/:key/:filename', (req, res) => {
    const a = attachmentByKey(String(req.params.key));
    if (!a) throw new CwError(404, 'Not Found');
    res.status(200).set({
      'Content-Type': a.contentType, 'Content-Length': String(a.bytes.length),
      'Content-Disposition': `inline; filename="${a.filename.replace(/"/g, '')}"; filename*=UTF-8''${encodeURIComponent(a.filename)}`,
    }).end(a.bytes);
  });

  app.use(() => {
    // Rails answers unknown routes with public/404.html.
    throw new CwError(404, "<html><body><h1>The page you were looking for doesn't exist.</h1></body></html>\n");
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof CwError) {
      if (typeof err.body === 'string') res.status(err.status).type(err.status === 404 ? 'text/html' : 'text/plain').send(err.body);
      else res.status(err.status).json(err.body);
      return;
    }
    const status = (err as { status?: number }).status;
    // Malformed JSON → ActionDispatch::Http::Parameters::ParseError → 400.
    if (status && status < 500) res.status(400).json({ status: 400, error: 'Bad Request' });
    else res.status(500).json({ status: 500, error: 'Internal Server Error' });
  });

  const server = await listen(app);
  baseUrl = server.url;

  const record = (accountId: number, displayId: number) => state.conversationOf(accountId, displayId);

  return {
    url: server.url,
    requests,
    webhookDeliveries: dispatcher.deliveries,
    addAccount: (a) => state.addAccount(a.id, a.token, a.name, a.role),
    addInbox: (accountId, o = {}) => state.addInbox(accountId, o),
    updateInbox(accountId, inboxId, changes) {
      const inbox = state.inboxOf(accountId, inboxId);
      if (changes.name !== undefined) inbox.name = changes.name;
      if (changes.webhookUrl !== undefined) inbox.webhookUrl = changes.webhookUrl;
      if (changes.secret !== undefined) inbox.secret = changes.secret;
      return inbox;
    },
    contacts: (accountId) => [...state.contacts.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.id - b.id).map((c) => ({
      id: c.id, name: c.name, email: c.email, phone_number: c.phoneNumber, identifier: c.identifier, blocked: c.blocked, avatar_url: c.avatarUrl,
      additional_attributes: structuredClone(c.additionalAttributes), custom_attributes: structuredClone(c.customAttributes),
      contact_inboxes: state.contactInboxesOf(c.id).map((ci) => ({ inbox_id: ci.inboxId, source_id: ci.sourceId })),
    })),
    conversations: (accountId) => [...state.conversations.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.id - b.id).map((c) => views.conversationRecord(c)),
    messages(accountId, displayId) {
      const convIds = new Set([...state.conversations.values()].filter((c) => c.accountId === accountId && (displayId === undefined || c.displayId === displayId)).map((c) => c.id));
      return [...state.messages.values()].filter((m) => convIds.has(m.conversationId)).sort((a, b) => a.id - b.id).map((m) => views.messageRecord(m));
    },
    createAgentReply(accountId, displayId, reply) {
      const conv = record(accountId, displayId);
      const files: NewFile[] = (reply.attachments ?? []).map((a) => ({ filename: a.filename, mimeType: a.mimeType, bytes: a.bytes }));
      const { result, events } = state.collect(() => createMessage(state, conv, state.agentFor(accountId), {
        content: reply.content ?? null, message_type: reply.messageType ?? 'outgoing', private: reply.private ?? false,
        content_type: reply.contentType, content_attributes: reply.contentAttributes,
      }, files));
      dispatcher.enqueue(events, Promise.resolve());
      return views.messageRecord(result);
    },
    setConversationStatus(accountId, displayId, status) {
      const conv = record(accountId, displayId);
      const { events } = state.collect(() => setConversationStatus(state, conv, status));
      dispatcher.enqueue(events, Promise.resolve());
    },
    failNext: (path, times, response) => failures.add(path, times, response),
    setFaults(f) {
      faults = f;
    },
    setDown(down, how = 'reset') {
      down503 = down && how === 503;
      server.setReset(down && how === 'reset');
    },
    webhooksSettled: () => dispatcher.settled(),
    reset() {
      state.resetData();
      requests.length = 0;
      dispatcher.deliveries.length = 0;
      failures.clear();
      throttle = { start: 0, count: 0 };
      down503 = false;
      faults = undefined;
      server.setReset(false);
    },
    async close() {
      dispatcher.close();
      await server.close();
    },
  };
}

