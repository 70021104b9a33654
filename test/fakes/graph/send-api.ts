/**
 * The Messenger / Instagram Send API and User Profile API on the fake Graph (meta-api-notes §5.3–5.4, Graph
 * reference "Page Messages", Messenger error codes). Two hosts, told apart by a path prefix on the one fake:
 *   graph.facebook.com   → `/{version}/…`           Page tokens: Messenger, and Instagram through its linked Page
 *   graph.instagram.com  → `/ig-host/{version}/…`   Instagram-Login tokens
 * A token is valid on its own host only (elsewhere: 190, as Graph cannot parse the other host's tokens).
 *
 * Refused like Meta refuses: missing recipient / messaging_type / message (100), a tag without MESSAGE_TAG or
 * MESSAGE_TAG without a tag (100), retired tags (100), any tag but HUMAN_AGENT on Instagram (100), text over 2,000
 * characters (Messenger) or 1,000 UTF-8 bytes (Instagram) (100), an unknown customer (100/2018001), a customer who
 * blocked the Page (551/1545041), a send outside the window — 24 h, or 7 days with HUMAN_AGENT — (10/2018278,
 * Instagram 10/2534022), more sends per second than FakeGraphOptions.throughputPerSecond (613). Where Meta's exact
 * wording is not documented, the code is Meta's and the text ours.
 */
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { isMultipart, parseMultipart, sha256Hex } from '../http-fake';
import { GraphError, fbtraceId, graphErrors } from './errors';

export type GraphHost = 'facebook' | 'instagram';
export type MessagingProduct = 'messenger' | 'instagram';

export interface MessagingUser {
  /** PSID or IGSID. */
  id: string;
  /** The Page or Instagram account this id is scoped to. */
  businessId: string;
  /** Messenger: first_name, last_name, profile_pic. Instagram: name, username, profile_pic. */
  profile: Record<string, string>;
  /** When the customer last wrote (ms): what the windows are measured from. */
  lastMessageAt: number;
  /** The customer blocked the Page or cannot be messaged (551). */
  unavailable?: boolean;
}

export interface SendApiMessage {
  /** The mid the fake assigned. */
  id: string;
  host: GraphHost;
  product: MessagingProduct;
  /** The Page or Instagram account the message went out from. */
  businessId: string;
  /** The path as called (`/v26.0/me/messages`, `/ig-host/v26.0/178…/messages`…). */
  path: string;
  recipientId: string;
  messagingType: string;
  tag?: string;
  text?: string;
  attachment?: { type: string; url?: string; upload?: { filename: string; mimeType: string; size: number; sha256: string } };
  quickReplies?: Array<{ title: string; payload: string }>;
  replyTo?: string;
  metadata?: string;
  /** The request body as sent (multipart fields JSON-decoded). */
  body: Record<string, unknown>;
  at: number;
}

export interface MessagingGrant {
  host: GraphHost;
  /** Page token: its Page. */
  pageId?: string;
  /** The Instagram account: linked to the Page (Page token) or logged in (Instagram-Login token). */
  instagramId?: string;
}

export interface SendApiContext {
  grantOf(token: string): MessagingGrant | undefined;
  users: Map<string, MessagingUser>;
  sent: SendApiMessage[];
  /** Runs after a message is accepted and before the response is written. */
  beforeResponse(): ((mid: string) => Promise<void>) | undefined;
  /** True (once per answer to lose) when the message just accepted must get no answer: FakeGraph.loseAnswers. */
  loseAnswer(): boolean;
  /** True when this sender is over the fake's throughput (FakeGraphOptions.throughputPerSecond): 613. */
  overThroughput(senderId: string): boolean;
}

export const HOUR = 3600_000;
const RETIRED_TAGS = new Set(['ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE']);
const TAGS = new Set(['HUMAN_AGENT', 'CUSTOMER_FEEDBACK', ...RETIRED_TAGS]);
const MESSAGING_TYPES = new Set(['RESPONSE', 'UPDATE', 'MESSAGE_TAG', 'UTILITY']);
const ATTACHMENT_TYPES = new Set(['image', 'audio', 'video', 'file', 'template']);
const PROFILE_FIELDS: Record<MessagingProduct, Set<string>> = {
  messenger: new Set(['first_name', 'last_name', 'profile_pic', 'name', 'locale', 'timezone', 'gender', 'id']),
  instagram: new Set(['name', 'username', 'profile_pic', 'follower_count', 'is_user_follow_business', 'is_business_follow_user', 'is_verified_user', 'id']),
};

export function userKey(businessId: string, userId: string): string {
  return `${businessId}:${userId}`;
}

function envelope(status: number, code: number, message: string, subcode?: number, type = 'OAuthException'): GraphError {
  return new GraphError(status, { error: { message, type, code, ...(subcode !== undefined ? { error_subcode: subcode } : {}), fbtrace_id: fbtraceId() } } as never);
}

export const sendApiErrors = {
  required: (param: string) => envelope(400, 100, `(#100) The parameter ${param} is required`),
  invalid: (details: string) => envelope(400, 100, `(#100) ${details}`),
  noMatchingUser: () => envelope(400, 100, '(#100) No matching user found', 2018001),
  unavailable: () => envelope(400, 551, '(#551) This person isn\'t available right now.', 1545041),
  outsideWindow: (product: MessagingProduct) => envelope(400, 10, '(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview', product === 'instagram' ? 2534022 : 2018278),
  rateLimit: () => envelope(400, 613, '(#613) Calls to this api have exceeded the rate limit.'),
  temporary: () => envelope(500, 1200, '(#1200) Temporary send message failure. Please try again later', undefined),
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Multipart fields hold JSON text for objects (recipient, message…); plain strings stay strings. */
function decodeField(value: string): unknown {
  try {
    const parsed: unknown = JSON.parse(value);
    return isObject(parsed) || Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header && /^Bearer\s+\S/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  return typeof req.query.access_token === 'string' && req.query.access_token ? req.query.access_token : undefined;
}

/** The accounts a token may act for through this path id (`me` or an id), on this host. */
function accountsFor(ctx: SendApiContext, req: Request, host: GraphHost, pathId: string): { grant: MessagingGrant; accounts: Map<string, MessagingProduct> } | undefined {
  const token = bearer(req);
  if (!token) throw graphErrors.missingToken();
  const grant = ctx.grantOf(token);
  if (!grant || grant.host !== host) throw graphErrors.invalidToken();
  const accounts = new Map<string, MessagingProduct>();
  if (host === 'facebook' && grant.pageId && (pathId === 'me' || pathId === grant.pageId)) {
    accounts.set(grant.pageId, 'messenger');
    if (grant.instagramId) accounts.set(grant.instagramId, 'instagram');
  }
  if (host === 'instagram' && grant.instagramId && (pathId === 'me' || pathId === grant.instagramId)) accounts.set(grant.instagramId, 'instagram');
  return accounts.size > 0 ? { grant, accounts } : undefined;
}

/** Whether a POST …/{id}/messages is the Send API's (else the WhatsApp route takes it). */
export function isSendApiPath(ctx: SendApiContext, req: Request, host: GraphHost): boolean {
  const id = String(req.params.pnid);
  if (host === 'instagram' || id === 'me') return true;
  const token = bearer(req);
  const grant = token ? ctx.grantOf(token) : undefined;
  return grant?.pageId === id;
}

/** POST /{version}/{page-id | ig-id | me}/messages */
export async function sendApiMessage(ctx: SendApiContext, req: Request, res: Response, host: GraphHost): Promise<void> {
  const pathId = String(req.params.pnid);
  const found = accountsFor(ctx, req, host, pathId);
  if (!found) throw graphErrors.unsupported('post', pathId);
  let body: Json = isObject(req.body) ? req.body : {};
  let upload: { filename: string; mimeType: string; size: number; sha256: string } | undefined;
  if (isMultipart(req)) {
    const parsed = await parseMultipart(req);
    res.locals.parsedMultipart = parsed;
    body = Object.fromEntries(Object.entries(parsed.fields).map(([k, v]) => [k, decodeField(v.at(-1) ?? '')]));
    const file = parsed.files.find((f) => f.field === 'filedata');
    if (file) upload = { filename: file.filename, mimeType: file.mimeType, size: file.bytes.length, sha256: sha256Hex(file.bytes) };
  }
  const recipient = isObject(body.recipient) ? body.recipient : undefined;
  const recipientId = typeof recipient?.id === 'string' ? recipient.id : typeof recipient?.id === 'number' ? String(recipient.id) : undefined;
  if (!recipientId) throw sendApiErrors.required('recipient');
  const user = [...found.accounts.keys()].map((b) => ctx.users.get(userKey(b, recipientId))).find((u) => u !== undefined);
  if (!user) throw sendApiErrors.noMatchingUser();
  const product = found.accounts.get(user.businessId)!;

  if (body.sender_action !== undefined) {
    if (body.message !== undefined) throw sendApiErrors.invalid('sender_action cannot be sent together with message');
    if (!['typing_on', 'typing_off', 'mark_seen', 'react', 'unreact'].includes(String(body.sender_action))) throw sendApiErrors.invalid('Invalid sender_action');
    res.json({ recipient_id: recipientId });
    return;
  }
  const messagingType = typeof body.messaging_type === 'string' ? body.messaging_type : undefined;
  if (!messagingType) throw sendApiErrors.required('messaging_type');
  if (!MESSAGING_TYPES.has(messagingType)) throw sendApiErrors.invalid(`Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG, UTILITY} - got "${messagingType}"`);
  const tag = typeof body.tag === 'string' ? body.tag : undefined;
  if (messagingType === 'MESSAGE_TAG' && !tag) throw sendApiErrors.required('tag');
  if (tag && messagingType !== 'MESSAGE_TAG') throw sendApiErrors.invalid('A tag may only be sent with messaging_type MESSAGE_TAG');
  if (tag && !TAGS.has(tag)) throw sendApiErrors.invalid(`Invalid tag "${tag}"`);
  if (tag && RETIRED_TAGS.has(tag)) throw sendApiErrors.invalid(`The ${tag} tag is no longer supported; use a utility template`);
  if (tag && product === 'instagram' && tag !== 'HUMAN_AGENT') throw sendApiErrors.invalid('Instagram supports only the HUMAN_AGENT tag');

  const message = isObject(body.message) ? body.message : undefined;
  if (!message) throw sendApiErrors.required('message');
  const text = typeof message.text === 'string' ? message.text : undefined;
  const attachment = isObject(message.attachment) ? message.attachment : undefined;
  if ((text === undefined) === (attachment === undefined)) throw sendApiErrors.invalid('message must have exactly one of text or attachment');
  if (text !== undefined) {
    if (text.trim() === '') throw sendApiErrors.invalid('message[text] must not be empty');
    if (product === 'messenger' && [...text].length > 2000) throw sendApiErrors.invalid('Length of param message[text] must be less than or equal to 2000');
    if (product === 'instagram' && Buffer.byteLength(text, 'utf8') > 1000) throw sendApiErrors.invalid('Length of param message[text] must be less than or equal to 1000 bytes');
  }
  let sentAttachment: SendApiMessage['attachment'];
  if (attachment) {
    const type = String(attachment.type);
    if (!ATTACHMENT_TYPES.has(type)) throw sendApiErrors.invalid(`Invalid attachment type "${type}"`);
    const payload = isObject(attachment.payload) ? attachment.payload : {};
    const url = typeof payload.url === 'string' ? payload.url : undefined;
    if (url !== undefined && !/^https?:\/\/\S+$/i.test(url)) throw sendApiErrors.invalid('Invalid URL in attachment payload');
    if (upload && url) throw sendApiErrors.invalid('An attachment is either uploaded (filedata) or linked (payload.url), not both');
    if (upload && product === 'instagram' && host === 'instagram') throw sendApiErrors.invalid('Attachments must be sent by URL on Instagram');
    if (!upload && !url && payload.attachment_id === undefined && type !== 'template') throw sendApiErrors.required('message[attachment][payload][url]');
    sentAttachment = { type, ...(url ? { url } : {}), ...(upload ? { upload } : {}) };
  }
  const quickReplies = Array.isArray(message.quick_replies) ? message.quick_replies : undefined;
  if (quickReplies) {
    if (quickReplies.length > 13) throw sendApiErrors.invalid('At most 13 quick replies are allowed');
    for (const q of quickReplies) {
      if (!isObject(q) || q.content_type !== 'text' || typeof q.title !== 'string' || !q.title || [...q.title].length > 20) throw sendApiErrors.invalid('Invalid quick reply (content_type text, title of 1-20 characters)');
    }
  }
  if (typeof message.metadata === 'string' && message.metadata.length > 1000) throw sendApiErrors.invalid('Length of param message[metadata] must be less than 1000');
  const replyTo = isObject(body.reply_to) && typeof body.reply_to.mid === 'string' ? body.reply_to.mid : undefined;
  if (body.reply_to !== undefined && !replyTo) throw sendApiErrors.required('reply_to[mid]');

  if (user.unavailable) throw sendApiErrors.unavailable();
  const since = Date.now() - user.lastMessageAt;
  const window = messagingType === 'MESSAGE_TAG' && tag === 'HUMAN_AGENT' ? 7 * 24 * HOUR : 24 * HOUR;
  if (since > window) throw sendApiErrors.outsideWindow(product);
  if (ctx.overThroughput(`sendapi:${user.businessId}`)) throw sendApiErrors.rateLimit();

  const id = `m_${randomBytes(24).toString('base64url')}`;
  ctx.sent.push({
    id, host, product, businessId: user.businessId, path: req.originalUrl.split('?')[0]!, recipientId, messagingType,
    ...(tag ? { tag } : {}), ...(text !== undefined ? { text } : {}), ...(sentAttachment ? { attachment: sentAttachment } : {}),
    ...(quickReplies ? { quickReplies: quickReplies.map((q) => ({ title: String((q as Json).title), payload: String((q as Json).payload) })) } : {}),
    ...(replyTo ? { replyTo } : {}), ...(typeof message.metadata === 'string' ? { metadata: message.metadata } : {}),
    body, at: Date.now(),
  });
  // Meta's echo webhook can reach the receiver before this response does; a test hook recreates that race.
  const hook = ctx.beforeResponse();
  if (hook) await hook(id);
  if (ctx.loseAnswer()) {
    req.socket.destroy();
    return;
  }
  // The documented answer (meta/messenger-send-response.json).
  res.json({ recipient_id: recipientId, message_id: id });
}

/** Whether a GET /{id} is a profile lookup (else the WhatsApp media route takes it). */
export function isProfilePath(ctx: SendApiContext, req: Request): boolean {
  const id = String(req.params.id);
  return [...ctx.users.values()].some((u) => u.id === id);
}

/** GET /{version}/{psid | igsid}?fields=… */
export function profile(ctx: SendApiContext, req: Request, res: Response, host: GraphHost): void {
  const id = String(req.params.id);
  const token = bearer(req);
  if (!token) throw graphErrors.missingToken();
  const grant = ctx.grantOf(token);
  if (!grant || grant.host !== host) throw graphErrors.invalidToken();
  const mine = new Map<string, MessagingProduct>();
  if (host === 'facebook' && grant.pageId) mine.set(grant.pageId, 'messenger');
  if (grant.instagramId) mine.set(grant.instagramId, 'instagram');
  const user = [...ctx.users.values()].find((u) => u.id === id && mine.has(u.businessId));
  if (!user) throw graphErrors.unsupported('get', id);
  const product = mine.get(user.businessId)!;
  const fields = typeof req.query.fields === 'string' ? req.query.fields.split(',').map((f) => f.trim()).filter(Boolean) : ['id', 'name'];
  const unknown = fields.find((f) => !PROFILE_FIELDS[product].has(f));
  if (unknown) throw sendApiErrors.invalid(`Tried accessing nonexisting field (${unknown}) on node type (${product === 'instagram' ? 'InstagramUser' : 'User'})`);
  const out: Json = { id };
  for (const f of fields) if (user.profile[f] !== undefined) out[f] = user.profile[f];
  res.json(out);
}
