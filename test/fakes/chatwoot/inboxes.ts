/**
 * Inboxes and the profile in the fake Chatwoot (chatwoot-api-notes §1.1–1.2, Chatwoot v4.15.1):
 *   GET    …/inboxes                 { payload: [inbox…] } (the full `_inbox` partial per inbox)
 *   POST   …/inboxes                 administrators only; channel.type must be 'api' here (the only kind faked)
 *   GET    …/inboxes/:id
 *   PATCH  …/inboxes/:id             administrators only; channel: webhook_url, hmac_mandatory, additional_attributes
 *                                    (EDITABLE_ATTRS; additional_attributes is replaced wholesale)
 *   DELETE …/inboxes/:id             administrators only
 *   GET    /api/v1/profile           the token's user with each account and its role
 * `secret` (v4.13+) and `hmac_token` are in the inbox JSON for administrators only, as in `_inbox.json.jbuilder`.
 * A non-administrator changing an inbox gets Pundit's 401 "You are not authorized to do this action".
 */
import type { Request, Response, Router } from 'express';
import { randomBytes } from 'node:crypto';
import { cwErrors, isObject, present, type AccountRole, type Inbox, type Json, type User } from './model';
import type { ChatwootState } from './state';

/** Limits::URL_LENGTH_LIMIT. */
const URL_LENGTH_LIMIT = 2048;

type Ctx = { accountId: number; user: User; role: AccountRole };
const ctx = (res: Response): Ctx => res.locals.cw as Ctx;

function inboxJson(inbox: Inbox, admin: boolean): Json {
  return {
    id: inbox.id, avatar_url: '', channel_id: inbox.channelId, name: inbox.name, channel_type: 'Channel::Api',
    greeting_enabled: false, greeting_message: null, working_hours_enabled: false, enable_email_collect: true,
    csat_survey_enabled: false, enable_auto_assignment: true, out_of_office_message: null, working_hours: [], timezone: 'UTC',
    callback_webhook_url: null, allow_messages_after_resolved: true, lock_to_single_conversation: false, sender_name_type: 'friendly',
    business_name: null, widget_color: null, website_url: null, hmac_mandatory: inbox.hmacMandatory ?? false, welcome_title: null,
    welcome_tagline: null, web_widget_script: null, website_token: null, selected_feature_flags: null, reply_time: null,
    ...(admin ? { hmac_token: hmacTokenOf(inbox), secret: inbox.secret } : {}),
    webhook_url: inbox.webhookUrl ?? null,
    inbox_identifier: inbox.identifier,
    additional_attributes: inbox.additionalAttributes ?? {},
    messaging_service_sid: null, phone_number: null, provider: null,
  };
}

function hmacTokenOf(inbox: Inbox): string {
  inbox.hmacToken ??= randomBytes(18).toString('base64url').slice(0, 24);
  return inbox.hmacToken;
}

/** Channel::Api validations that a create or an update can trip (422 like RecordInvalid). */
function channelErrors(channel: Json): Array<[string, string]> {
  const errors: Array<[string, string]> = [];
  const url = channel.webhook_url;
  if (typeof url === 'string' && url.length > URL_LENGTH_LIMIT) errors.push(['webhook_url', `Webhook url is too long (maximum is ${URL_LENGTH_LIMIT} characters)`]);
  const attrs = channel.additional_attributes;
  if (isObject(attrs) && present(attrs.agent_reply_time_window)) {
    const hours = attrs.agent_reply_time_window;
    const n = typeof hours === 'number' ? hours : typeof hours === 'string' && /^\d+$/.test(hours) ? Number(hours) : NaN;
    if (!Number.isInteger(n) || n <= 0) errors.push(['additional_attributes', 'Additional attributes agent_reply_time_window must be a positive integer']);
  }
  return errors;
}

function applyChannel(inbox: Inbox, channel: Json): void {
  if (typeof channel.webhook_url === 'string' || channel.webhook_url === null) inbox.webhookUrl = channel.webhook_url ?? '';
  if (channel.hmac_mandatory !== undefined) inbox.hmacMandatory = Boolean(channel.hmac_mandatory);
  if (isObject(channel.additional_attributes)) inbox.additionalAttributes = structuredClone(channel.additional_attributes);
}

function adminOnly(res: Response): void {
  if (ctx(res).role !== 'administrator') throw cwErrors.notAuthorized();
}

export function inboxApi(r: Router, state: ChatwootState): void {
  const body = (req: Request): Json => (isObject(req.body) ? req.body : {});
  const isAdmin = (res: Response) => ctx(res).role === 'administrator';

  r.get('/inboxes', (_req, res) => {
    const list = [...state.inboxes.values()].filter((i) => i.accountId === ctx(res).accountId).sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    res.json({ payload: list.map((i) => inboxJson(i, isAdmin(res))) });
  });

  r.post('/inboxes', (req, res) => {
    adminOnly(res);
    const p = body(req);
    const channel = isObject(p.channel) ? p.channel : {};
    if (channel.type !== 'api') throw cwErrors.unprocessable(`fake Chatwoot: only API inboxes are faked (got channel.type ${JSON.stringify(channel.type)})`);
    const errors: Array<[string, string]> = [];
    if (!present(p.name)) errors.push(['name', "Name can't be blank"]);
    errors.push(...channelErrors(channel));
    if (errors.length) throw cwErrors.recordInvalid(errors);
    const inbox = state.addInbox(ctx(res).accountId, { name: String(p.name) });
    applyChannel(inbox, channel);
    res.json(inboxJson(inbox, true));
  });

  r.get('/inboxes/:id', (req, res) => {
    res.json(inboxJson(state.inboxOf(ctx(res).accountId, req.params.id), isAdmin(res)));
  });

  r.patch('/inboxes/:id', (req, res) => {
    const inbox = state.inboxOf(ctx(res).accountId, req.params.id);
    adminOnly(res);
    const p = body(req);
    const channel = isObject(p.channel) ? p.channel : {};
    const errors = channelErrors(channel);
    if (errors.length) throw cwErrors.recordInvalid(errors);
    if (present(p.name)) inbox.name = String(p.name);
    applyChannel(inbox, channel);
    res.json(inboxJson(inbox, true));
  });

  r.delete('/inboxes/:id', (req, res) => {
    const inbox = state.inboxOf(ctx(res).accountId, req.params.id);
    adminOnly(res);
    state.inboxes.delete(inbox.id);
    res.status(200).end();
  });
}

/** GET /api/v1/profile: the user behind the token, with every account and role (the user's own token included). */
export function profileOf(state: ChatwootState, req: Request): Json {
  const header = req.headers.api_access_token ?? req.headers['api-access-token'];
  const token = Array.isArray(header) ? header[0] : header;
  const grant = token ? state.tokens.get(token) : undefined;
  if (!grant) throw cwErrors.invalidToken();
  return {
    id: grant.user.id, name: grant.user.name, email: grant.user.email, access_token: token,
    accounts: [...grant.accounts].map((id) => ({ id, name: state.accounts.get(id)?.name ?? `Account ${id}`, role: grant.roles?.get(id) ?? 'administrator' })),
  };
}

