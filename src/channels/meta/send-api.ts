/**
 * An agent reply → the ordered Send API requests ("parts") that deliver it, for Messenger and Instagram alike
 * (meta-api-notes §5.3–5.4; Graph reference "Page Messages"). Pure: no upload, no HTTP.
 *
 *  - messaging_type RESPONSE inside the 24-hour window; MESSAGE_TAG + tag HUMAN_AGENT from 24 hours to 7 days
 *    when the connection enables it (Meta's Human Agent permission); outside that, no part at all: the reply fails
 *    with a reason the agent can act on.
 *  - Text is plain (markdown rendered away) and split to the product's limit (Messenger 2000 characters,
 *    Instagram 1000 UTF-8 bytes). Each attachment is its own part, uploaded with the send or passed as a link.
 *  - Quick replies (Chatwoot input_select) ride on the last text part, after the attachments: the question comes
 *    last. The first part, and only the first, quotes the message answered (`reply_to.mid`).
 */
import { PermanentError } from '../../core/errors';
import type { MediaKind } from '../../core/events';
import type { OutboundReply, Recipient } from '../../core/outbound';
import type { OutboundPart } from '../channel';
import { toPlainText } from './markdown';
import { splitText, truncate, type TextMeasure } from './text';

export const HOUR_MS = 3600 * 1000;
/** The standard messaging window. */
export const RESPONSE_WINDOW_HOURS = 24;
/** How long after the customer's last message a human agent may still answer, with the HUMAN_AGENT tag. */
export const HUMAN_AGENT_WINDOW_HOURS = 7 * 24;

/** Quick replies: at most 13, titles of 20 characters, payloads of 1000 (Messenger quick-replies reference). */
export const QUICK_REPLY_LIMITS = { count: 13, title: 20, payload: 1000 } as const;
export const CHOICE_PROMPT_FALLBACK = 'Please choose an option.';
/** What the bridge writes into `message.metadata` (echoed back in message_echoes) to know its own sends. */
export const BRIDGE_METADATA_PREFIX = 'meta-crm-bridge:';

export interface SendApiProduct {
  /** "Messenger" / "Instagram", in reasons the agent reads. */
  label: string;
  text: { max: number; measure: TextMeasure };
  /** Attachments uploaded with the send (multipart filedata) or passed by URL for Meta to fetch. */
  attachments: 'upload' | 'link';
  /** Whether sends carry `message.metadata` (Messenger documents it; Instagram does not). */
  metadata: boolean;
}

export interface SendApiContext {
  /** Time since the customer's last message; undefined = unknown, planned as a response. */
  sinceCustomerMs?: number;
  /** The connection may use the HUMAN_AGENT tag (Meta granted the Human Agent permission). */
  humanAgentTag?: boolean;
  /** The platform's id of the reply, stamped into metadata. */
  platformMessageId?: string;
}

export type SendApiPart = OutboundPart & {
  /** The JSON body (or, with `upload`, the form fields, JSON-encoded per field by the sender). */
  body: Record<string, unknown>;
  /** Upload: the file to fetch from the platform and send as `filedata`. */
  upload?: { url: string; filename?: string; mimeType?: string };
};

type Message = Record<string, unknown>;

/**
 * The parts of a reply, in order. Throws PermanentError when there is nobody to send to, or when the
 * conversation is past every window the connection may use.
 */
export function planSendApi(product: SendApiProduct, reply: OutboundReply, recipient: Recipient, replyToExternalId: string | undefined, ctx: SendApiContext = {}): SendApiPart[] {
  const id = recipient.id?.trim();
  if (!id) throw new PermanentError(`no ${product.label} recipient: the conversation has no customer id`);
  if (reply.template) throw new PermanentError(`${product.label} has no message templates; send the reply as text.`);
  const envelope = { recipient: { id }, ...messagingType(product, ctx) };
  const messages = messagesOf(product, reply);
  return messages.map(({ message, kind, upload }, index) => {
    // The metadata comes back in the send's message_echoes webhook: it is also the part's send tag (OutboundPart.tag).
    const tag = product.metadata && ctx.platformMessageId ? `${BRIDGE_METADATA_PREFIX}${ctx.platformMessageId}:${index}` : undefined;
    const body: Record<string, unknown> = { ...envelope, message: tag ? { ...message, metadata: tag } : message };
    if (index === 0 && replyToExternalId) body.reply_to = { mid: replyToExternalId };
    return { index, kind, body, ...(upload ? { upload } : {}), ...(tag ? { tag } : {}) };
  });
}

/** The window decides the messaging type; past the last window the reply cannot be sent at all. */
export function messagingType(product: SendApiProduct, ctx: SendApiContext): { messaging_type: string; tag?: string } {
  const since = ctx.sinceCustomerMs;
  if (since === undefined || since < RESPONSE_WINDOW_HOURS * HOUR_MS) return { messaging_type: 'RESPONSE' };
  if (ctx.humanAgentTag && since < HUMAN_AGENT_WINDOW_HOURS * HOUR_MS) return { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' };
  throw new PermanentError(windowClosedText(product, Boolean(ctx.humanAgentTag)));
}

/** The agent's words when a reply is past the window. */
export function windowClosedText(product: SendApiProduct, humanAgentTag: boolean): string {
  return humanAgentTag
    ? `Outside the messaging window: ${product.label} accepts a human agent's reply up to 7 days after the customer's last message, and that has passed. The customer must write again before you can reply.`
    : `Outside the messaging window: ${product.label} accepts replies only within 24 hours of the customer's last message. Wait for the customer to write again (an administrator can enable the HUMAN_AGENT tag on this connection to answer for up to 7 days).`;
}

function messagesOf(product: SendApiProduct, reply: OutboundReply): Array<{ message: Message; kind: string; upload?: SendApiPart['upload'] }> {
  const text = reply.content ? toPlainText(reply.content) : '';
  const chunks = text ? splitText(text, product.text.max, product.text.measure) : [];
  const media = reply.attachments.map((a) => attachmentMessage(product, a));
  const choices = quickReplies(reply.choices ?? []);
  if (choices.length === 0) return [...chunks.map(textMessage), ...media];
  const question = chunks.length > 0 ? chunks : [CHOICE_PROMPT_FALLBACK];
  const last = question.length - 1;
  return [
    ...media,
    ...question.map((chunk, i) => (i === last ? { kind: 'quick_replies', message: { text: chunk, quick_replies: choices } } : textMessage(chunk))),
  ];
}

function textMessage(text: string): { message: Message; kind: string } {
  return { kind: 'text', message: { text } };
}

/** Send API attachment types: image, audio, video, file (stickers go as images). */
function attachmentType(kind: MediaKind): string {
  switch (kind) {
    case 'image':
    case 'sticker': return 'image';
    case 'audio': return 'audio';
    case 'video': return 'video';
    default: return 'file';
  }
}

function attachmentMessage(product: SendApiProduct, a: OutboundReply['attachments'][number]): { message: Message; kind: string; upload?: SendApiPart['upload'] } {
  const type = attachmentType(a.kind);
  if (product.attachments === 'link') return { kind: type, message: { attachment: { type, payload: { url: a.url, is_reusable: false } } } };
  const upload: NonNullable<SendApiPart['upload']> = { url: a.url };
  if (a.filename) upload.filename = a.filename;
  if (a.mimeType) upload.mimeType = a.mimeType;
  return { kind: type, message: { attachment: { type, payload: { is_reusable: false } } }, upload };
}

/** Titles cut to 20 characters and made unique; payloads are the choice values. Extra choices are dropped. */
function quickReplies(choices: Array<{ title: string; value: string }>): Array<Record<string, string>> {
  const seen = new Set<string>();
  const out: Array<Record<string, string>> = [];
  for (const c of choices) {
    const value = (c.value ?? '').trim();
    const title = (c.title ?? '').trim() || value;
    if (!title || out.length >= QUICK_REPLY_LIMITS.count) continue;
    let shown = truncate(title, QUICK_REPLY_LIMITS.title);
    for (let n = 2; seen.has(shown); n++) shown = truncate(title, QUICK_REPLY_LIMITS.title - ` ${n}`.length) + ` ${n}`;
    seen.add(shown);
    out.push({ content_type: 'text', title: shown, payload: truncate(value || title, QUICK_REPLY_LIMITS.payload) });
  }
  return out;
}
