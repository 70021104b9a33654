/**
 * The Application API routes of the fake Chatwoot, mounted at /api/v1/accounts/:account_id
 * (chatwoot-api-notes §2.1–2.6). Auth: header api_access_token (401 "Invalid Access Token"); an account the
 * token's user is not on → 401; an unknown account or record → 404 "Resource could not be found".
 */
import express, { type Request, type Response } from 'express';
import { isMultipart, parseMultipart, summarizeMultipart, type LoggedRequest } from '../http-fake';
import { createConversation, createMessage, deleteMessage, toggleStatus, updateMessageStatus, type NewFile } from './conversations';
import { applyFilter } from './filters';
import { cwErrors, isObject, railsInt, type Contact, type Conversation, type Json, type User } from './model';
import { RecordNotUnique, type ChatwootState } from './state';
import type { Views } from './views';
import type { WebhookDispatcher } from './webhooks';
import { inboxApi } from './inboxes';

const CONTACTS_PER_PAGE = 15;
const CONVERSATIONS_PER_PAGE = 25;

/** Rack-style form params: a[]=… → array, a[b]=… → nested (one level), otherwise the last value. */
function formParams(fields: Record<string, string[]>): Json {
  const out: Json = {};
  for (const [name, values] of Object.entries(fields)) {
    const arr = /^(\w+)\[\]$/.exec(name);
    const nested = /^(\w+)\[(\w+)\]$/.exec(name);
    if (arr) out[arr[1]!] = values;
    else if (nested) out[nested[1]!] = { ...(isObject(out[nested[1]!]) ? (out[nested[1]!] as Json) : {}), [nested[2]!]: values.at(-1) };
    else out[name] = values.at(-1);
  }
  return out;
}

function page(req: Request): { n: number; raw: unknown } {
  const raw = req.query.page ?? (isObject(req.body) ? req.body.page : undefined);
  // @current_page = params[:page] || 1: echoed back as given (a query-string page is a string in the JSON).
  return { n: Math.max(1, railsInt(raw) ?? 1), raw: raw ?? 1 };
}

export function applicationApi(state: ChatwootState, views: Views, dispatcher: WebhookDispatcher): express.Router {
  const r = express.Router({ mergeParams: true });

  const params = (req: Request): Json => ({ ...(req.query as Json), ...(isObject(req.body) ? req.body : {}) });
  const ctx = (res: Response): { accountId: number; user: User } => res.locals.cw as { accountId: number; user: User };
  /** Runs a change; its events go out after this response (the API answers first, webhooks follow). */
  const mutate = <T>(res: Response, fn: () => T): T => {
    const { result, events } = state.collect(fn);
    if (events.length) dispatcher.enqueue(events, new Promise((resolve) => res.once('close', resolve)));
    return result;
  };
  const conversationsOfAccount = (accountId: number): Conversation[] => [...state.conversations.values()].filter((c) => c.accountId === accountId);
  const byActivity = (a: Conversation, b: Conversation): number => b.lastActivityAt - a.lastActivityAt || b.id - a.id;

  r.use((req, res, next) => {
    const header = req.headers.api_access_token ?? req.headers['api-access-token'];
    const token = Array.isArray(header) ? header[0] : header;
    const grant = token ? state.tokens.get(token) : undefined;
    if (!grant) throw cwErrors.invalidToken();
    const account = state.accounts.get(railsInt(req.params.account_id) ?? NaN);
    if (!account) throw cwErrors.notFound();
    if (!grant.accounts.has(account.id)) throw cwErrors.notOnAccount();
    res.locals.cw = { accountId: account.id, user: grant.user, role: state.roleOf(token!, account.id) };
    next();
  });

  inboxApi(r, state);

  // ── contacts ────────────────────────────────────────────────────────────────
  r.post('/contact_inboxes/filter', (req, res) => {
    const p = params(req);
    const inbox = state.inboxOf(ctx(res).accountId, p.inbox_id);
    const ci = [...state.contactInboxes.values()].find((x) => x.inboxId === inbox.id && p.source_id !== undefined && p.source_id !== null && x.sourceId === String(p.source_id));
    if (!ci) throw cwErrors.notFound();
    res.json(views.contact(state.contacts.get(ci.contactId)!));
  });

  r.post('/contacts/filter', (req, res) => {
    const { accountId } = ctx(res);
    const all = [...state.contacts.values()].filter((c) => c.accountId === accountId).sort((a, b) => a.id - b.id);
    const found = applyFilter<Contact>(all, params(req).payload, {
      name: (c) => c.name, email: (c) => c.email, phone_number: (c) => c.phoneNumber, identifier: (c) => c.identifier,
    });
    const pg = page(req);
    const slice = found.slice((pg.n - 1) * CONTACTS_PER_PAGE, pg.n * CONTACTS_PER_PAGE);
    // No match is 200 with an empty payload (ContactsController#filter renders the list; it never raises 404).
    res.json({ meta: { count: found.length, current_page: pg.raw }, payload: slice.map((c) => views.contact(c)) });
  });

  r.post('/contacts', (req, res) => {
    const created = mutate(res, () => {
      try {
        return state.createContact(ctx(res).accountId, params(req));
      } catch (err) {
        if (err instanceof RecordNotUnique) throw cwErrors.internal();
        throw err;
      }
    });
    res.json({ payload: {
      contact: views.contact(created.contact),
      contact_inbox: created.contactInbox ? views.contactInbox(created.contactInbox) : { inbox: null, source_id: null },
    } });
  });

  r.get('/contacts/:id', (req, res) => {
    res.json({ payload: views.contact(state.contactOf(ctx(res).accountId, req.params.id)) });
  });

  const contactUpdate = (req: Request, res: Response): void => {
    const contact = state.contactOf(ctx(res).accountId, req.params.id);
    mutate(res, () => state.updateContact(contact, params(req)));
    res.json({ payload: views.contact(contact) });
  };
  r.patch('/contacts/:id', contactUpdate);
  r.put('/contacts/:id', contactUpdate);

  // ContactPolicy#destroy?: administrators only (Pundit's 401 otherwise); `head :ok`.
  r.delete('/contacts/:id', (req, res) => {
    const contact = state.contactOf(ctx(res).accountId, req.params.id);
    if ((res.locals.cw as { role?: string }).role !== 'administrator') throw cwErrors.notAuthorized();
    state.deleteContact(contact);
    res.status(200).end();
  });

  r.post('/contacts/:id/contact_inboxes', (req, res) => {
    const { accountId } = ctx(res);
    const contact = state.contactOf(accountId, req.params.id);
    const p = params(req);
    const inbox = state.inboxOf(accountId, p.inbox_id);
    // A source_id held by another contact of this inbox: RecordNotUnique, unhandled → 500 (notes §2.3).
    res.json(views.contactInbox(state.buildContactInbox(contact, inbox, p.source_id)));
  });

  r.get('/contacts/:id/conversations', (req, res) => {
    const { accountId } = ctx(res);
    const contact = state.contactOf(accountId, req.params.id);
    const convs = conversationsOfAccount(accountId).filter((c) => c.contactId === contact.id).sort(byActivity).slice(0, 20);
    res.json({ payload: convs.map((c) => views.conversation(c)) });
  });

  // ── conversations ───────────────────────────────────────────────────────────
  r.post('/conversations/filter', (req, res) => {
    const { accountId } = ctx(res);
    const all = conversationsOfAccount(accountId).sort(byActivity);
    const found = applyFilter<Conversation>(all, params(req).payload, {
      status: (c) => c.status, inbox_id: (c) => c.inboxId, contact_id: (c) => c.contactId, display_id: (c) => c.displayId, assignee_id: (c) => c.assigneeId,
    });
    const pg = page(req);
    res.json({
      meta: { mine_count: 0, unassigned_count: found.filter((c) => c.assigneeId === null).length, all_count: found.length },
      payload: found.slice((pg.n - 1) * CONVERSATIONS_PER_PAGE, pg.n * CONVERSATIONS_PER_PAGE).map((c) => views.conversation(c)),
    });
  });

  r.post('/conversations', (req, res) => {
    const conv = mutate(res, () => createConversation(state, ctx(res).accountId, ctx(res).user, params(req)));
    res.json(views.conversation(conv));
  });

  r.get('/conversations/:id', (req, res) => {
    res.json(views.conversation(state.conversationOf(ctx(res).accountId, req.params.id)));
  });

  r.post('/conversations/:id/toggle_status', (req, res) => {
    const conv = state.conversationOf(ctx(res).accountId, req.params.id);
    mutate(res, () => toggleStatus(state, conv, params(req)));
    res.json({ meta: {}, payload: { success: true, conversation_id: conv.displayId, current_status: conv.status, snoozed_until: conv.snoozedUntil === null ? null : Math.floor(conv.snoozedUntil / 1000) } });
  });

  // ── messages ────────────────────────────────────────────────────────────────
  r.get('/conversations/:id/messages', (req, res) => {
    const conv = state.conversationOf(ctx(res).accountId, req.params.id);
    const all = state.messagesOf(conv);
    const before = railsInt(req.query.before);
    const after = railsInt(req.query.after);
    let list = all;
    if (after !== undefined) list = list.filter((m) => m.id > after);
    if (before !== undefined) list = list.filter((m) => m.id < before);
    // MessageFinder: latest 20 (or 20 before `before`); `after` alone gives up to 100 newer, oldest first.
    list = after !== undefined && before === undefined ? list.slice(0, 100) : list.slice(-20);
    const contact = state.contacts.get(conv.contactId)!;
    res.json({
      meta: { labels: [], additional_attributes: conv.additionalAttributes, contact: views.contactPush(contact), agent_last_seen_at: conv.agentLastSeenAt, assignee_last_seen_at: null },
      payload: list.map((m) => views.message(m)),
    });
  });

  r.post('/conversations/:id/messages', async (req, res) => {
    const conv = state.conversationOf(ctx(res).accountId, req.params.id);
    let p = params(req);
    let files: NewFile[] = [];
    if (isMultipart(req)) {
      const parsed = await parseMultipart(req);
      (res.locals.logEntry as LoggedRequest).body = summarizeMultipart(parsed);
      p = { ...(req.query as Json), ...formParams(parsed.fields) };
      files = parsed.files.filter((f) => f.field === 'attachments[]' || f.field === 'attachments');
    }
    // Every StandardError in messages#create is answered 422 {"error": message} (flood guard included).
    const message = mutate(res, () => createMessage(state, conv, ctx(res).user, p, files));
    res.json(views.message(message));
  });

  const statusUpdate = (req: Request, res: Response): void => {
    const conv = state.conversationOf(ctx(res).accountId, req.params.id);
    const m = state.messagesOf(conv).find((x) => x.id === railsInt(req.params.message_id));
    if (!m) throw cwErrors.notFound();
    // All inboxes of this fake are API inboxes, so the 403 "only allowed for API inboxes" never applies.
    const p = params(req);
    mutate(res, () => updateMessageStatus(state, m, p.status, p.external_error));
    res.json(views.message(m));
  };
  r.patch('/conversations/:id/messages/:message_id', statusUpdate);
  r.put('/conversations/:id/messages/:message_id', statusUpdate);

  r.delete('/conversations/:id/messages/:message_id', (req, res) => {
    const conv = state.conversationOf(ctx(res).accountId, req.params.id);
    const m = state.messagesOf(conv).find((x) => x.id === railsInt(req.params.message_id));
    if (!m) throw cwErrors.notFound();
    mutate(res, () => deleteMessage(state, m));
    res.json(views.message(m));
  });

  return r;
}
