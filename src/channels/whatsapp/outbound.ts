/**
 * An agent reply → the ordered WhatsApp Cloud API send requests ("parts") that deliver it. Pure: no upload, no
 * HTTP. The rules follow Chatwoot's own WhatsApp channel (chatwoot-api-notes §4.1) except that every attachment
 * is sent, not only the first; the limits are Meta's (meta-api-notes §3.2).
 *
 * Order of parts:
 *  - template: one template part; the message content is Chatwoot's rendered preview of it and is not sent.
 *  - text only: text part(s), split at 4096 characters.
 *  - text + attachments: the text is the caption of the first attachment when that is an image, video or
 *    document and the text fits in 1024 characters; otherwise the text goes first, on its own. Then one part
 *    per attachment.
 *  - choices: the attachments first, then the interactive message carrying the text (the question comes last).
 * The first part, and only the first, carries `context` (the quoted customer message).
 *
 * Media convention: a media part's body holds `{ id: MEDIA_UPLOAD_PLACEHOLDER }` and the part carries `media`
 * (where to fetch the file). The sender downloads it, uploads it to `/{phone-number-id}/media` and replaces the
 * placeholder with the returned id (`withMediaId`). Meta recommends uploaded ids over links, and Chatwoot's
 * attachment URLs are redirects Meta would have to follow.
 */
import { PermanentError } from '../../core/errors';
import type { MediaKind } from '../../core/events';
import { hasLink, toWhatsAppText } from './markdown';
import { safeCut, splitText, truncate } from '../meta/text';
import type { TemplateRequest } from './templates';

export interface AgentReply {
  /** Raw markdown, as Chatwoot sends it. */
  content: string | null;
  attachments: Array<{ kind: MediaKind; url: string; filename?: string; mimeType?: string; voice?: boolean }>;
  /** wamid of the customer message to thread to (context.message_id). */
  replyToExternalId?: string;
  /** Chatwoot input_select items. */
  choices?: Array<{ title: string; value: string }>;
  template?: TemplateRequest;
}

export type SendPart = {
  index: number;
  kind: string;
  /** Also in the body as biz_opaque_callback_data (see OutboundPart.tag). */
  tag?: string;
  body: Record<string, unknown>;
  media?: { url: string; filename?: string; mimeType?: string };
};

/** What a media part's `<kind>.id` holds until the sender has uploaded the file. */
export const MEDIA_UPLOAD_PLACEHOLDER = '<upload>';
/** The label of the button that opens a list message. */
export const LIST_BUTTON_LABEL = 'Choose';
/** Body of an interactive message when the agent wrote no text (Meta requires one). */
export const CHOICE_PROMPT_FALLBACK = 'Please choose an option.';

/** Meta's limits (meta-api-notes §3.2). */
export const LIMITS = {
  text: 4096,
  caption: 1024,
  buttons: 3,
  buttonTitle: 20,
  buttonId: 256,
  buttonBody: 1024,
  listRows: 10,
  listButton: 20,
  listBody: 4096,
  rowTitle: 24,
  rowDescription: 72,
  rowId: 200,
} as const;

type Attachment = AgentReply['attachments'][number];
type Draft = Omit<SendPart, 'index' | 'body'> & { type: string; payload: Record<string, unknown> };

/**
 * The send requests for one reply, in order. `to` (phone) wins over `recipient` (business-scoped user id) when
 * both are known. An empty reply gives no parts. Throws PermanentError when there is nobody to send to.
 */
export function planWhatsAppSend(reply: AgentReply, to: { to?: string; recipient?: string }, tagOf?: (index: number) => string): SendPart[] {
  const address = addressOf(to);
  const text = reply.content ? toWhatsAppText(reply.content) : '';
  const drafts = reply.template ? [templateDraft(reply.template)] : messageDrafts(reply, text);
  return drafts.map((draft, index) => {
    const body: Record<string, unknown> = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      ...address,
      ...(index === 0 && reply.replyToExternalId ? { context: { message_id: reply.replyToExternalId } } : {}),
      type: draft.type,
      [draft.type]: draft.payload,
    };
    // Echoed in every status webhook of this message: how a part whose answer was lost is found (send-tags.ts).
    const tag = tagOf?.(index);
    if (tag) body.biz_opaque_callback_data = tag;
    return { index, kind: draft.kind, body, ...(draft.media ? { media: draft.media } : {}), ...(tag ? { tag } : {}) };
  });
}

/** A media part's body with the uploaded media id in place of the placeholder. */
export function withMediaId(part: SendPart, mediaId: string): Record<string, unknown> {
  const type = part.body.type;
  const media = typeof type === 'string' ? part.body[type] : undefined;
  if (!part.media || typeof media !== 'object' || media === null) throw new Error(`part ${part.index} (${part.kind}) has no media to fill`);
  return { ...part.body, [type as string]: { ...media, id: mediaId } };
}

/**
 * `to`, with a leading '+' added to a bare digit string: Meta prepends the business number's own country code
 * to a number sent without '+' (meta-api-notes §3.1), and a wa_id is already the full international number.
 */
function addressOf(to: { to?: string; recipient?: string }): { to: string } | { recipient: string } {
  const phone = to.to?.trim();
  if (phone) return { to: /^\d+$/.test(phone) ? `+${phone}` : phone };
  const recipient = to.recipient?.trim();
  if (recipient) return { recipient };
  throw new PermanentError('no WhatsApp recipient: the conversation has neither a phone number nor a business-scoped user id');
}

function messageDrafts(reply: AgentReply, text: string): Draft[] {
  const attachments = reply.attachments;
  const choices = cleanChoices(reply.choices ?? []);
  if (choices.length > 0) return [...attachments.map((a) => mediaDraft(a)), ...interactiveDrafts(text, choices)];
  if (attachments.length === 0) return text ? textDrafts(text) : [];
  const [first, ...others] = attachments as [Attachment, ...Attachment[]];
  if (text && takesCaption(first.kind) && text.length <= LIMITS.caption) {
    return [mediaDraft(first, text), ...others.map((a) => mediaDraft(a))];
  }
  return [...(text ? textDrafts(text) : []), ...attachments.map((a) => mediaDraft(a))];
}

function takesCaption(kind: MediaKind): boolean {
  return kind === 'image' || kind === 'video' || kind === 'document';
}

function textDrafts(text: string): Draft[] {
  return splitText(text, LIMITS.text).map((body) => ({
    kind: 'text',
    type: 'text',
    payload: hasLink(body) ? { body, preview_url: true } : { body },
  }));
}

function mediaDraft(attachment: Attachment, caption?: string): Draft {
  const payload: Record<string, unknown> = { id: MEDIA_UPLOAD_PLACEHOLDER };
  if (caption) payload.caption = caption;
  const filename = attachment.filename ?? filenameFromUrl(attachment.url);
  if (attachment.kind === 'document' && filename) payload.filename = filename;
  // `voice: true` (send as a voice note) is documented only by secondary sources, not Meta's reference
  // (meta-api-notes §3.2, §10), and voice notes must be OGG/OPUS; so it is set for audio/ogg only.
  if (attachment.kind === 'audio' && attachment.voice && baseMime(attachment.mimeType) === 'audio/ogg') payload.voice = true;
  const media: NonNullable<SendPart['media']> = { url: attachment.url };
  if (attachment.filename) media.filename = attachment.filename;
  if (attachment.mimeType) media.mimeType = attachment.mimeType;
  return { kind: attachment.kind, type: attachment.kind, payload, media };
}

function baseMime(mime: string | undefined): string | undefined {
  return mime?.split(';')[0]?.trim().toLowerCase();
}

/** The last path segment of a URL when it looks like a file name (Chatwoot's data_url ends in one). */
function filenameFromUrl(url: string): string | undefined {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    return /^[^/]+\.[A-Za-z0-9]{1,8}$/.test(last) ? last : undefined;
  } catch {
    return undefined;
  }
}

// ---- choices → interactive ----

interface Choice { title: string; value: string }

/** Titles trimmed (a missing title falls back to the value); choices with neither are dropped. */
function cleanChoices(choices: Choice[]): Choice[] {
  return choices.flatMap((c) => {
    const value = (c.value ?? '').trim();
    const title = (c.title ?? '').trim() || value;
    return title ? [{ title, value: value || title }] : [];
  });
}

/**
 * ≤3 choices: reply buttons. 4–10: a list. More than 10: a list of the first 10, and the remaining options
 * appended to the body as numbered text lines (11., 12., …) the customer can answer by typing.
 * Text that does not fit the interactive body goes first as text part(s).
 */
function interactiveDrafts(text: string, choices: Choice[]): Draft[] {
  const buttons = choices.length <= LIMITS.buttons;
  const extra = choices.slice(LIMITS.listRows).map((c, i) => `${LIMITS.listRows + i + 1}. ${c.title}`);
  const fullText = [text || CHOICE_PROMPT_FALLBACK, ...(extra.length > 0 ? [extra.join('\n')] : [])].join('\n\n');
  const { leading, body } = fitBody(fullText, buttons ? LIMITS.buttonBody : LIMITS.listBody);
  const action = buttons ? buttonAction(choices) : { button: LIST_BUTTON_LABEL, sections: [{ rows: listRows(choices.slice(0, LIMITS.listRows)) }] };
  return [
    ...leading.flatMap(textDrafts),
    { kind: 'interactive', type: 'interactive', payload: { type: buttons ? 'button' : 'list', body: { text: body }, action } },
  ];
}

/** Reply buttons: titles cut to 20 characters with "…" and made unique; ids are the choice values. */
function buttonAction(choices: Choice[]): Record<string, unknown> {
  const ids = uniqueIds(choices, LIMITS.buttonId);
  const titles = uniqueTitles(choices.map((c) => c.title), LIMITS.buttonTitle, truncate);
  return { buttons: choices.map((_c, i) => ({ type: 'reply', reply: { id: ids[i] ?? '', title: titles[i] ?? '' } })) };
}

/** Rows: a title too long for 24 characters is cut with an ellipsis and the rest of it becomes the description. */
function listRows(choices: Choice[]): Array<Record<string, string>> {
  const ids = uniqueIds(choices, LIMITS.rowId);
  const titles = uniqueTitles(choices.map((c) => c.title), LIMITS.rowTitle, (t, max) => cutTitle(t, max).title);
  return choices.map((c, i) => {
    const rest = cutTitle(c.title, LIMITS.rowTitle).rest;
    const row: Record<string, string> = { id: ids[i] ?? '', title: titles[i] ?? '' };
    if (rest) row.description = truncate(`…${rest}`, LIMITS.rowDescription);
    return row;
  });
}

/** A row title within 24 characters: cut at a word when one is near the end, else mid-word, then "…". */
function cutTitle(title: string, max: number): { title: string; rest: string } {
  if (title.length <= max) return { title, rest: '' };
  const room = max - 1;
  const space = title.lastIndexOf(' ', room);
  const cut = space >= room / 2 ? space : safeCut(title, room);
  return { title: `${title.slice(0, cut).trimEnd()}…`, rest: title.slice(cut).trimStart() };
}

/** Ids are the choice values, cut to the limit; a repeat gets a "~2", "~3"… suffix so that every id is unique. */
function uniqueIds(choices: Choice[], max: number): string[] {
  const seen = new Set<string>();
  return choices.map((c) => {
    let id = c.value.slice(0, safeCut(c.value, max));
    for (let n = 2; seen.has(id); n++) {
      const suffix = `~${n}`;
      id = c.value.slice(0, safeCut(c.value, max - suffix.length)) + suffix;
    }
    seen.add(id);
    return id;
  });
}

/**
 * Titles within `max`, unique as Meta requires. When two long titles shorten to the same text, the later one keeps
 * its start and its end instead ("Schedule a…th support"), so the customer can still tell them apart; only if
 * that collides too does it get a " (2)", " (3)"… suffix.
 */
function uniqueTitles(titles: string[], max: number, shorten: (title: string, max: number) => string): string[] {
  const seen = new Set<string>();
  return titles.map((title) => {
    let unique = [shorten(title, max), middleOut(title, max)].find((candidate) => !seen.has(candidate));
    for (let n = 2; unique === undefined; n++) {
      const suffix = ` (${n})`;
      const candidate = shorten(title, max - suffix.length) + suffix;
      if (!seen.has(candidate)) unique = candidate;
    }
    seen.add(unique);
    return unique;
  });
}

/** The start and the end of a text, joined by "…", in at most `max` UTF-16 units. */
function middleOut(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, safeCut(text, Math.ceil((max - 1) / 2)));
  let tail = text.slice(text.length - (max - 1 - head.length));
  const first = tail.charCodeAt(0);
  if (first >= 0xdc00 && first <= 0xdfff) tail = tail.slice(1);
  return `${head}…${tail}`;
}

/** The interactive body is the end of the text; whatever does not fit goes before it as text chunks (≤ 4096). */
function fitBody(text: string, max: number): { leading: string[]; body: string } {
  const chunks = splitText(text, LIMITS.text);
  const last = chunks.pop() ?? '';
  if (last.length <= max) return { leading: chunks, body: last };
  const body = splitText(last, max).pop() ?? '';
  return { leading: [...chunks, last.slice(0, last.length - body.length).trimEnd()], body };
}

// ---- text helpers: shared with Messenger and Instagram (../meta/text.ts) ----

export { splitText };

// ---- templates ----

function templateDraft(template: TemplateRequest): Draft {
  const payload: Record<string, unknown> = { name: template.name, language: { policy: 'deterministic', code: template.language } };
  if (template.components.length > 0) payload.components = template.components;
  return { kind: 'template', type: 'template', payload };
}
