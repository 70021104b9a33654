/**
 * What an agent reads for each WhatsApp message type: text, media references and the structured facts kept
 * as attributes. Anything we cannot show becomes a readable placeholder that says why; nothing is dropped.
 */
import type { MediaKind, MediaRef } from '../../core/events';
import { defined } from '../meta/untrusted';
import {
  list, num, rec, str, word,
  type Untrusted, type WaAudio, type WaContactCard, type WaDocument, type WaEditedMessage, type WaError, type WaInboundMessage,
  type WaInteractive, type WaLocation, type WaOrder, type WaReplyChoice, type WaSticker, type WaSystem,
} from './types';

type Message = Untrusted<WaInboundMessage>;

export interface Content {
  text: string;
  attachments: MediaRef[];
  attributes: Record<string, unknown>;
  placeholderReason?: string;
  /** The message this one changes (edit, revoke); wins over context.id. */
  replyTo?: string;
}

const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'document', 'audio', 'sticker'];

/** Content of any message but a reaction (reactions are their own event). */
export function renderContent(m: Message): Content {
  const errors = list(m.errors);
  if (errors.length > 0) return errorPlaceholder(errors);
  const type = word(m.type);
  if (!type) return placeholder('it arrived without a type', 'malformed: no type');
  if ((MEDIA_KINDS as readonly string[]).includes(type)) return renderMedia(type as MediaKind, m[type as MediaKind]);
  switch (type) {
    case 'text': {
      const body = str(rec<{ body: string }>(m.text)?.body);
      return body === undefined ? malformed(type) : content(body);
    }
    case 'location': return renderLocation(m.location);
    case 'contacts': return renderContacts(m.contacts);
    case 'interactive': return renderInteractive(m.interactive);
    case 'button': {
      const button = rec<{ payload: string; text: string }>(m.button);
      const text = str(button?.text) ?? str(button?.payload);
      return text === undefined ? malformed(type) : content(text, { button: defined({ payload: str(button?.payload), text }) });
    }
    case 'order': return renderOrder(m.order);
    case 'system': return renderSystem(m.system);
    case 'edit': return renderEdit(m.edit);
    case 'revoke': {
      const original = word(rec<{ original_message_id: string }>(m.revoke)?.original_message_id);
      return original === undefined ? malformed(type) : { ...content('🗑️ The customer deleted a message', { revokes: original }), replyTo: original };
    }
    case 'unsupported':
    case 'unknown':
      return placeholder('WhatsApp did not say what it was', type);
    default:
      return placeholder(`"${type}" messages are not supported here yet`, `unsupported type: ${type}`);
  }
}

/** "⚠️ This message could not be shown here (…)": what the agent sees instead of content we do not have. */
function placeholder(why: string, reason: string): Content {
  return {
    text: `⚠️ This message could not be shown here (${why}). Ask the customer to send it again or check the phone.`,
    attachments: [],
    attributes: {},
    placeholderReason: reason,
  };
}

/** The readable facts of one Meta error object; details without a trailing period. */
export function errorFacts(raw: unknown): { code: number | string; title: string; details?: string } {
  const e = rec<WaError>(raw);
  return defined({
    code: num(e?.code) ?? word(e?.code) ?? '?',
    title: word(e?.title) ?? word(e?.message) ?? 'error',
    details: word(rec<{ details: string }>(e?.error_data)?.details)?.replace(/\.\s*$/, ''),
  });
}

/** Shown as "title — code: details", kept as reason "code: title"; several joined with "; ". */
function errorPlaceholder(errors: unknown[]): Content {
  const facts = errors.map((e) => errorFacts(e));
  return placeholder(
    facts.map((f) => `${f.title} — ${f.code}${f.details ? `: ${f.details}` : ''}`).join('; '),
    facts.map((f) => `${f.code}: ${f.title}`).join('; '),
  );
}

function malformed(type: string): Content {
  return placeholder(`the ${type} message arrived without its content`, `malformed ${type}`);
}

function content(text: string, attributes: Record<string, unknown> = {}, attachments: MediaRef[] = []): Content {
  return { text, attachments, attributes };
}

function renderMedia(kind: MediaKind, raw: unknown): Content {
  const media = rec<WaDocument & WaAudio & WaSticker>(raw);
  const mediaId = word(media?.id);
  const url = word(media?.url);
  if (!media || (!mediaId && !url)) return malformed(kind);
  const ref: MediaRef = defined({
    kind,
    mediaId,
    url,
    mimeType: word(media.mime_type),
    sha256: word(media.sha256),
    filename: kind === 'document' ? word(media.filename) : undefined,
    voice: kind === 'audio' && typeof media.voice === 'boolean' ? media.voice : undefined,
    animated: kind === 'sticker' && typeof media.animated === 'boolean' ? media.animated : undefined,
  });
  return content(str(media.caption) ?? '', {}, [ref]);
}

function renderLocation(raw: unknown): Content {
  const loc = rec<WaLocation>(raw);
  if (!loc) return malformed('location');
  const latitude = num(loc.latitude);
  const longitude = num(loc.longitude);
  const name = word(loc.name);
  const address = word(loc.address);
  const label = [name, address].filter(Boolean).join(', ');
  const map = latitude !== undefined && longitude !== undefined ? `https://maps.google.com/?q=${latitude},${longitude}` : undefined;
  if (!label && !map) return malformed('location');
  const text = label ? [`📍 ${label}`, map].filter(Boolean).join('\n') : `📍 ${map}`;
  return content(text, { location: defined({ latitude, longitude, name, address, url: word(loc.url) }) });
}

function renderContacts(raw: unknown): Content {
  const cards = list(raw);
  if (cards.length === 0) return malformed('contacts');
  const blocks = cards.map((rawCard) => {
    const card = rec<WaContactCard>(rawCard);
    const name = rec<NonNullable<WaContactCard['name']>>(card?.name);
    const fullName = word(name?.formatted_name)
      ?? ([word(name?.first_name), word(name?.last_name)].filter(Boolean).join(' ') || 'Contact without a name');
    const phones = list(card?.phones).map((p) => rec<{ phone: string; wa_id: string }>(p))
      .map((p) => word(p?.phone) ?? word(p?.wa_id)).filter((p): p is string => p !== undefined);
    const emails = list(card?.emails).map((e) => word(rec<{ email: string }>(e)?.email)).filter((e): e is string => e !== undefined);
    const company = word(rec<{ company: string }>(card?.org)?.company);
    return [`👤 ${fullName}`, ...(company ? [`🏢 ${company}`] : []), ...phones.map((p) => `📞 ${p}`), ...emails.map((e) => `✉️ ${e}`)].join('\n');
  });
  return content(blocks.join('\n\n'), { contacts: cards });
}

function renderInteractive(raw: unknown): Content {
  const interactive = rec<WaInteractive>(raw);
  const type = word(interactive?.type);
  if (!interactive || !type) return malformed('interactive');
  if (type === 'button_reply' || type === 'list_reply') {
    const choice = rec<WaReplyChoice>(interactive[type]);
    const title = word(choice?.title);
    if (!title) return malformed(`interactive ${type}`);
    const description = type === 'list_reply' ? word(choice?.description) : undefined;
    return content(description ? `${title}\n${description}` : title, {
      interactive: defined({ type, id: str(choice?.id), title, description }),
    });
  }
  if (type === 'nfm_reply') {
    const reply = rec<NonNullable<WaInteractive['nfm_reply']>>(interactive.nfm_reply);
    if (!reply) return malformed('interactive nfm_reply');
    const rawJson = str(reply.response_json);
    const response = parseJsonObject(rawJson);
    const lines = response ? formLines(response) : [];
    const text = lines.length > 0 ? lines.join('\n') : (word(reply.body) ?? 'Form submitted');
    return content(text, { interactive: defined({ type, name: str(reply.name), response: response ?? rawJson }) });
  }
  return placeholder(`interactive "${type}" replies are not supported here yet`, `unsupported type: interactive ${type}`);
}

function parseJsonObject(json: string | undefined): Untrusted<Record<string, unknown>> | undefined {
  if (json === undefined) return undefined;
  try {
    return rec<Record<string, unknown>>(JSON.parse(json));
  } catch {
    return undefined;
  }
}

/** "key: value" per answer. flow_token is our own correlation id, not something the customer said. */
function formLines(response: Untrusted<Record<string, unknown>>): string[] {
  return Object.entries(response)
    .filter(([key, value]) => key !== 'flow_token' && value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}: ${formValue(value)}`);
}

function formValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formValue).join(', ');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function renderOrder(raw: unknown): Content {
  const order = rec<WaOrder>(raw);
  const items = list(order?.product_items);
  if (!order || items.length === 0) return malformed('order');
  const lines = items.map((rawItem) => {
    const item = rec<WaOrder['product_items'][number]>(rawItem);
    const price = num(item?.item_price);
    const currency = word(item?.currency) ?? '';
    return `• ${word(item?.product_retailer_id) ?? '(unknown product)'} × ${num(item?.quantity) ?? '?'}${price !== undefined ? ` @ ${price} ${currency}`.trimEnd() : ''}`;
  });
  const note = word(order.text);
  const text = [`🛒 Order (${items.length} ${items.length === 1 ? 'item' : 'items'}):`, ...lines, ...(note ? [note] : [])].join('\n');
  return content(text, { order: raw });
}

function renderSystem(raw: unknown): Content {
  const system = rec<WaSystem>(raw);
  const type = word(system?.type) ?? 'unknown';
  const text = word(system?.body) ?? `ℹ️ The customer's WhatsApp account changed (${type})`;
  return {
    ...content(text, { system: defined({ type, newWaId: word(system?.wa_id) ?? word(system?.new_wa_id), newUserId: word(system?.user_id) }) }),
    placeholderReason: `system: ${type}`,
  };
}

function renderEdit(raw: unknown): Content {
  const edit = rec<{ original_message_id: string; message: WaEditedMessage }>(raw);
  const original = word(edit?.original_message_id);
  const inner = rec<WaEditedMessage>(edit?.message);
  if (!original || !inner) return malformed('edit');
  const innerType = word(inner.type);
  const payload = innerType ? (inner as Readonly<Record<string, unknown>>)[innerType] : undefined;
  const newText = innerType === 'text' ? str(rec<{ body: string }>(payload)?.body) : str(rec<{ caption: string }>(payload)?.caption);
  const shown = newText ?? `(the new version of this ${innerType ?? 'message'} cannot be shown here)`;
  return { ...content(`✏️ edited: ${shown}`, { editOf: original }), replyTo: original };
}

export { defined };
