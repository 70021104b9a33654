/**
 * Messenger and Instagram webhook body (`entry[].messaging[]`) → neutral events. Pure (no I/O) and total (never
 * throws). Both products share this envelope; each channel's webhook.ts calls it with its own flavour. Walks every
 * entry and every messaging item; what is not a customer event becomes an Oddity with a readable reason.
 *
 * Ids: a message keeps Meta's mid. Events that are about another message (reaction, edit, unsend, receipts) get an
 * id of their own, derived from what Meta sent, so a redelivery maps to the same id and the original's id stays
 * free: `reaction:<mid>:<action>:<ms>`, `edit:<mid>:<n>`, `unsend:<mid>`, `delivery|read:<customer>:<mark>`.
 */
import type {
  CustomerRef, EchoEvent, EditEvent, InboundEvent, InboundMessageEvent, Oddity, ParsedDelivery, ReactionEvent, UnsendEvent, WatermarkEvent,
} from '../../core/events';
import { defined, list, num, rec, str, word, type Untrusted } from './untrusted';
import type {
  MsgDelivery, MsgEdit, MsgEntry, MsgItem, MsgMessage, MsgPostback, MsgReaction, MsgRead, MsgWebhookBody,
} from './messaging-types';
import { renderMessage, renderPostback, renderReferral, type MessagingContent } from './messaging-render';
import { BRIDGE_METADATA_PREFIX } from './send-api';

export interface MessagingFlavour {
  channel: 'messenger' | 'instagram';
  /** The webhook `object` this flavour reads. */
  object: 'page' | 'instagram';
  /** "Messenger" / "Instagram", in oddity texts. */
  label: string;
}

/** Reactions Meta names without an emoji (older payloads): the emoji the customer saw. */
const REACTION_EMOJI: Readonly<Record<string, string>> = {
  smile: '😆', angry: '😠', sad: '😢', wow: '😮', love: '❤️', like: '👍', dislike: '👎',
};

/** What every item of one entry shares. */
interface Scope {
  flavour: MessagingFlavour;
  businessId: string;
  entryTime?: number;
  where: string;
}

type Item = Untrusted<MsgItem>;

export function parseMessagingDelivery(body: unknown, flavour: MessagingFlavour): ParsedDelivery {
  const out: ParsedDelivery = { events: [], oddities: [] };
  const root = rec<MsgWebhookBody>(body);
  if (root?.object !== flavour.object) {
    const object = typeof root?.object === 'string' ? `"${root.object}"` : 'missing';
    out.oddities.push({ reason: `not a delivery for ${flavour.label} (object: ${object})` });
    return out;
  }
  const entries = list(root.entry);
  if (entries.length === 0) out.oddities.push({ reason: `${flavour.label} delivery without entries` });
  entries.forEach((entry, i) => readEntry(entry, i, flavour, out));
  return out;
}

function readEntry(raw: unknown, index: number, flavour: MessagingFlavour, out: ParsedDelivery): void {
  const entry = rec<MsgEntry>(raw);
  const businessId = word(entry?.id) ?? numText(entry?.id);
  const where = `entry ${businessId ?? `#${index + 1}`}`;
  if (!entry || !businessId) {
    out.oddities.push({ reason: `${where}: no entry id (Page / Instagram account), so it cannot be routed` });
    return;
  }
  const scope: Scope = { flavour, businessId, entryTime: toMs(entry.time), where };
  const messaging = list(entry.messaging);
  const standby = list(entry.standby);
  const changes = list(entry.changes);
  messaging.forEach((item, j) => {
    const result = readItem(rec<MsgItem>(item), scope, `${where}, messaging #${j + 1}`);
    if ('kind' in result) out.events.push(result);
    else out.oddities.push(result);
  });
  standby.forEach((_item, j) => {
    out.oddities.push({ businessId, reason: `${where}, standby #${j + 1}: another app controls this thread (handover protocol); not forwarded` });
  });
  if (changes.length > 0) {
    out.oddities.push({ businessId, reason: `${where}: ${changes.length} change(s) (comments, mentions…) are not conversation events` });
  }
  if (messaging.length + standby.length + changes.length === 0) out.oddities.push({ businessId, reason: `${where}: no messaging events` });
}

function readItem(item: Item | undefined, scope: Scope, where: string): InboundEvent | Oddity {
  const odd = (reason: string): Oddity => ({ businessId: scope.businessId, reason: `${where}: ${reason}` });
  if (!item) return odd('not an object');
  const senderId = idOf(item.sender);
  const recipientId = idOf(item.recipient);
  const delivery = rec<MsgDelivery>(item.delivery);
  const read = rec<MsgRead>(item.read);
  const timestamp = toMs(item.timestamp) ?? toMs(delivery?.watermark) ?? toMs(read?.watermark) ?? scope.entryTime;
  if (timestamp === undefined) return odd('no timestamp; not forwarded');
  const base = { channel: scope.flavour.channel, businessId: scope.businessId, timestamp };
  const fromBusiness = senderId !== undefined && senderId === scope.businessId;
  const customerId = fromBusiness ? recipientId : senderId;
  if (!customerId) return odd(`no ${fromBusiness ? 'recipient' : 'sender'} id; not forwarded`);
  const customer: CustomerRef = { id: customerId };

  const message = rec<MsgMessage>(item.message);
  if (message) return readMessage(message, { ...base, customer }, fromBusiness, odd);
  if (fromBusiness) return odd(`the business's own ${eventField(item)}; not forwarded`);

  const postback = rec<MsgPostback>(item.postback);
  if (postback) {
    const externalId = word(postback.mid) ?? `postback:${customerId}:${timestamp}`;
    return asMessage({ ...base, customer, externalId }, renderPostback(postback));
  }
  const reaction = rec<MsgReaction>(item.reaction);
  if (reaction) return readReaction(reaction, { ...base, customer }, odd);
  const edit = rec<MsgEdit>(item.message_edit);
  if (edit) {
    const target = word(edit.mid);
    const text = str(edit.text);
    if (!target || text === undefined) return odd('message_edit without mid or text; not forwarded');
    const editCount = toCount(edit.num_edit);
    const ev: EditEvent = defined({ ...base, kind: 'edit' as const, customer, externalId: `edit:${target}:${editCount ?? timestamp}`, targetExternalId: target, text, editCount });
    return ev;
  }
  if (delivery) {
    const watermark = toMs(delivery.watermark);
    const mids = list(delivery.mids).map(word).filter((m): m is string => m !== undefined);
    if (watermark === undefined && mids.length === 0) return odd('delivery receipt without watermark or mids; not forwarded');
    const mark = watermark ?? mids.join(',');
    return watermarkOf({ ...base, customer }, 'delivered', `delivery:${customerId}:${mark}`, watermark, mids);
  }
  if (read) {
    const watermark = toMs(read.watermark);
    const mid = word(read.mid);
    if (watermark === undefined && !mid) return odd('read receipt without watermark or mid; not forwarded');
    return watermarkOf({ ...base, customer }, 'read', `read:${customerId}:${watermark ?? mid}`, watermark, mid ? [mid] : []);
  }
  if (rec(item.referral)) return asMessage({ ...base, customer, externalId: `referral:${customerId}:${timestamp}` }, renderReferral(item.referral));
  return odd(`${eventField(item)} is not a conversation event; not forwarded`);
}

type Base = Pick<InboundMessageEvent, 'channel' | 'businessId' | 'timestamp' | 'customer'>;

function readMessage(m: Untrusted<MsgMessage>, base: Base, fromBusiness: boolean, odd: (reason: string) => Oddity): InboundEvent | Oddity {
  const mid = word(m.mid);
  if (!mid) return odd('message without mid; not forwarded');
  if (m.is_self === true) return odd(`(${mid}) a test message the account sent to itself; not forwarded`);
  if (m.is_deleted === true) {
    const unsend: UnsendEvent = { ...base, kind: 'unsend', externalId: `unsend:${mid}`, targetExternalId: mid };
    return unsend;
  }
  const content = renderMessage(m);
  if (m.is_echo === true || fromBusiness) {
    const echo: EchoEvent = defined({
      ...asMessage({ ...base, externalId: mid }, content),
      kind: 'echo' as const,
      appId: word(m.app_id) ?? numText(m.app_id),
      metadata: str(m.metadata),
      taggedByBridge: str(m.metadata)?.startsWith(BRIDGE_METADATA_PREFIX) ? true : undefined,
    });
    return echo;
  }
  return asMessage({ ...base, externalId: mid }, content);
}

function readReaction(r: Untrusted<MsgReaction>, base: Base, odd: (reason: string) => Oddity): ReactionEvent | Oddity {
  const target = word(r.mid);
  if (!target) return odd('reaction without mid; not forwarded');
  const action = word(r.action) === 'unreact' ? 'unreact' : 'react';
  const name = word(r.reaction);
  const emoji = action === 'unreact' ? null : (word(r.emoji) ?? (name ? REACTION_EMOJI[name] ?? name : '👍'));
  return { ...base, kind: 'reaction', externalId: `reaction:${target}:${action}:${base.timestamp}`, targetExternalId: target, emoji };
}

function watermarkOf(base: Base, status: WatermarkEvent['status'], externalId: string, upTo: number | undefined, externalIds: string[]): WatermarkEvent {
  return defined({ ...base, kind: 'watermark' as const, status, externalId, upTo, externalIds });
}

function asMessage(base: Base & { externalId: string }, content: MessagingContent): InboundMessageEvent {
  return defined({
    ...base,
    kind: 'message' as const,
    text: content.text,
    attachments: content.attachments,
    replyTo: content.replyTo,
    originalType: content.originalType,
    placeholderReason: content.placeholderReason,
    attributes: content.attributes,
  });
}

/** The one event field of a messaging item, for oddity texts. */
function eventField(item: Item): string {
  const known = ['message', 'postback', 'reaction', 'message_edit', 'delivery', 'read', 'referral', 'optin', 'policy_enforcement', 'account_linking'];
  const field = Object.keys(item).find((k) => !['sender', 'recipient', 'timestamp'].includes(k));
  return field ? `"${field}"${known.includes(field) ? '' : ' event'}` : 'empty event';
}

function idOf(party: unknown): string | undefined {
  const p = rec<{ id: string }>(party);
  return word(p?.id) ?? numText(p?.id);
}

/**
 * Meta sends ms since epoch; test data (Chatwoot's fixtures) sometimes an ISO date string; both are read. Only a
 * time a Date can hold counts (a fuzzer's 0.4 ms rounded to 0, and 1e300 makes an Invalid Date where it is stored).
 */
function toMs(value: unknown): number | undefined {
  const n = num(value);
  const s = n === undefined ? word(value)?.trim() : undefined;
  const ms = n !== undefined ? Math.round(n) : !s ? undefined : /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return ms !== undefined && Number.isFinite(ms) && ms > 0 && ms <= MAX_DATE_MS ? ms : undefined;
}

/** The last millisecond a JavaScript Date (and so a stored timestamp) can represent. */
const MAX_DATE_MS = 8.64e15;

function toCount(value: unknown): number | undefined {
  const n = num(value) ?? (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined);
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function numText(value: unknown): string | undefined {
  const n = num(value);
  return n === undefined ? undefined : String(n);
}
