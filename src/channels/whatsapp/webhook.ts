/**
 * WhatsApp Cloud API webhook body → neutral events. Pure (no I/O) and total (never throws).
 * Walks every entry, change, message and status. What is not a customer event — account-level fields,
 * system-level errors, items too broken to route — becomes an Oddity with a readable reason, and the rest
 * of the batch still parses. The two account_update events that mean this app lost a WABA
 * (PARTNER_APP_UNINSTALLED, PARTNER_REMOVED) are also returned as revocations, for the bridge to act on.
 */
import { isSendTag } from '../../core/send-tags';
import type {
  AccessRevokedEvent, CustomerRef, DeliveryStatus, InboundEvent, InboundMessageEvent, MetaErrorInfo, Oddity, ParsedDelivery, ReactionEvent, StatusEvent,
} from '../../core/events';
import { defined, errorFacts, renderContent } from './render';
import {
  WHATSAPP_OBJECT, list, num, rec, str, word,
  type Untrusted, type WaAccountUpdateValue, type WaChange, type WaContact, type WaContext, type WaEntry, type WaError,
  type WaInboundMessage, type WaMessagesValue, type WaMetadata, type WaStatus, type WaTemplateStatusValue, type WaWebhookBody,
} from './types';

/** What every item of one `messages` change shares. */
interface Scope {
  businessId: string;
  contacts: Array<Untrusted<WaContact>>;
  where: string;
}

const STATUSES: ReadonlySet<string> = new Set<DeliveryStatus>(['sent', 'delivered', 'read', 'failed']);

/** account_update events saying this app no longer reaches the WABA (meta-api-notes §2.10, §7.2). */
const REVOKING_EVENTS: ReadonlySet<string> = new Set<AccessRevokedEvent['event']>(['PARTNER_APP_UNINSTALLED', 'PARTNER_REMOVED']);
const META_ID = /^\d{1,30}$/;

export function isWhatsAppDelivery(body: unknown): boolean {
  return rec<WaWebhookBody>(body)?.object === WHATSAPP_OBJECT;
}

export function parseWhatsAppDelivery(body: unknown): ParsedDelivery {
  const out: ParsedDelivery = { events: [], oddities: [] };
  const root = rec<WaWebhookBody>(body);
  if (root?.object !== WHATSAPP_OBJECT) {
    const object = typeof root?.object === 'string' ? `"${root.object}"` : 'missing';
    out.oddities.push({ reason: `not a WhatsApp delivery (object: ${object})` });
    return out;
  }
  const entries = list(root.entry);
  if (entries.length === 0) out.oddities.push({ reason: 'WhatsApp delivery without entries' });
  entries.forEach((entry, i) => readEntry(entry, i, out));
  return out;
}

function readEntry(raw: unknown, index: number, out: ParsedDelivery): void {
  const entry = rec<WaEntry>(raw);
  const where = `entry ${word(entry?.id) ?? `#${index + 1}`}`;
  const changes = list(entry?.changes);
  if (changes.length === 0) {
    out.oddities.push({ reason: `${where}: no changes` });
    return;
  }
  changes.forEach((change, j) => readChange(change, `${where}, change #${j + 1}`, out, toMs(entry?.time)));
}

function readChange(raw: unknown, where: string, out: ParsedDelivery, entryTime?: number): void {
  const change = rec<WaChange>(raw);
  const field = word(change?.field);
  const value = rec<WaMessagesValue>(change?.value);
  const businessId = word(rec<WaMetadata>(value?.metadata)?.phone_number_id);
  if (field !== 'messages') {
    out.oddities.push(defined({ businessId, reason: `${where}: ${describeOtherField(field, change?.value)}` }));
    const revoked = field === 'account_update' ? revocationOf(change?.value) : undefined;
    if (revoked) (out.revocations ??= []).push(defined({ ...revoked, occurredAt: entryTime }));
    return;
  }
  if (!value || !businessId) {
    out.oddities.push({ reason: `${where}: messages change without metadata.phone_number_id, so it cannot be routed` });
    return;
  }
  const scope: Scope = { businessId, where, contacts: list(value.contacts).map((c) => rec<WaContact>(c)).filter((c) => c !== undefined) };
  const add = (item: InboundEvent | Oddity): void => {
    if ('kind' in item) out.events.push(item);
    else out.oddities.push(item);
  };
  const errors = list(value.errors);
  const messages = list(value.messages);
  const statuses = list(value.statuses);
  for (const error of errors) {
    const { code, title, details } = errorFacts(error);
    add({ businessId, reason: `${where}: WhatsApp error ${code}: ${title}${details ? ` — ${details}` : ''}` });
  }
  messages.forEach((message, k) => add(readMessage(message, scope, `message #${k + 1}`)));
  statuses.forEach((status, k) => add(readStatus(status, scope, `status #${k + 1}`)));
  if (errors.length + messages.length + statuses.length === 0) {
    add({ businessId, reason: `${where}: messages change with no messages, statuses or errors` });
  }
}

/** Account-level webhook fields are answered and counted, never forwarded to a conversation. */
function describeOtherField(field: string | undefined, rawValue: unknown): string {
  const value = rec<WaTemplateStatusValue & WaAccountUpdateValue>(rawValue);
  const event = word(value?.event) ?? 'no event';
  if (field === 'message_template_status_update') {
    const reason = [word(value?.reason), word(rec<{ reason: string }>(value?.rejection_info)?.reason)].filter((r) => r && r !== 'NONE');
    const name = word(value?.message_template_name) ?? String(num(value?.message_template_id) ?? '?');
    const language = word(value?.message_template_language);
    return `template "${name}"${language ? ` (${language})` : ''} is now ${event}${reason.length > 0 ? `: ${reason.join(' — ')}` : ''}`;
  }
  if (field === 'account_update') {
    const waba = word(rec<{ waba_id: string }>(value?.waba_info)?.waba_id);
    const revoking = REVOKING_EVENTS.has(event);
    if (revoking && !revocationOf(rawValue)) return `account update ${event} without a usable waba_info.waba_id: which account lost this app is unknown, nothing is disconnected`;
    return `account update ${event}${waba ? ` for WABA ${waba}` : ''}${revoking ? ': this app lost access to it' : ''}`;
  }
  return `"${field ?? '(no field)'}" webhook (${event}) is not a conversation event`;
}

/** The WABA this app lost, for PARTNER_APP_UNINSTALLED / PARTNER_REMOVED with a WABA id; else undefined. */
function revocationOf(rawValue: unknown): AccessRevokedEvent | undefined {
  const value = rec<WaAccountUpdateValue>(rawValue);
  const event = word(value?.event);
  if (!event || !REVOKING_EVENTS.has(event)) return undefined;
  const info = rec<NonNullable<WaAccountUpdateValue['waba_info']>>(value?.waba_info);
  // waba_info.waba_id only: entry.id can be a partner's business id (meta-api-notes §2.10).
  const wabaId = word(info?.waba_id);
  if (!wabaId || !META_ID.test(wabaId)) return undefined;
  const rawApp = info?.partner_app_id;
  const partnerAppId = typeof rawApp === 'number' && Number.isSafeInteger(rawApp) ? String(rawApp) : word(rawApp);
  return defined<AccessRevokedEvent>({
    kind: 'access_revoked', channel: 'whatsapp', wabaId, event: event as AccessRevokedEvent['event'],
    partnerAppId: partnerAppId && META_ID.test(partnerAppId) ? partnerAppId : undefined,
  });
}

function readMessage(raw: unknown, scope: Scope, label: string): InboundMessageEvent | ReactionEvent | Oddity {
  const m = rec<WaInboundMessage>(raw);
  const externalId = word(m?.id);
  const timestamp = toMs(m?.timestamp);
  const customer = m ? customerOf(m.from, m.from_user_id, scope.contacts) : undefined;
  const where = `${scope.where}, ${label}${externalId ? ` (${externalId})` : ''}`;
  const odd = (reason: string): Oddity => ({ businessId: scope.businessId, reason: `${where}: ${reason}` });
  if (!m) return odd('not an object');
  if (!externalId || timestamp === undefined || !customer) {
    const missing = [!externalId && 'id', timestamp === undefined && 'timestamp', !customer && 'sender (from / from_user_id)'].filter(Boolean);
    return odd(`missing ${missing.join(', ')}; not forwarded`);
  }
  const base = { channel: 'whatsapp' as const, businessId: scope.businessId, externalId, timestamp, customer };

  if (m.type === 'reaction' && list(m.errors).length === 0) {
    const reaction = rec<{ message_id: string; emoji: string }>(m.reaction);
    const target = word(reaction?.message_id);
    if (!target) return odd('reaction without message_id; not forwarded');
    // No emoji (or an empty one) is how WhatsApp says the customer took the reaction back.
    return { ...base, kind: 'reaction', targetExternalId: target, emoji: word(reaction?.emoji) ?? null };
  }

  const content = renderContent(m);
  const context = rec<WaContext>(m.context);
  const attributes: Record<string, unknown> = { ...content.attributes };
  if (rec(m.referral)) attributes.referral = m.referral;
  if (rec(context?.referred_product)) attributes.referredProduct = context?.referred_product;
  return defined<InboundMessageEvent>({
    ...base,
    kind: 'message',
    text: content.text,
    attachments: content.attachments,
    replyTo: content.replyTo ?? word(context?.id),
    forwarded: context?.frequently_forwarded === true ? 'frequently_forwarded' : context?.forwarded === true ? 'forwarded' : undefined,
    originalType: str(m.type) ?? '(none)',
    placeholderReason: content.placeholderReason,
    attributes,
  });
}

function readStatus(raw: unknown, scope: Scope, label: string): StatusEvent | Oddity {
  const s = rec<WaStatus>(raw);
  const externalId = word(s?.id);
  const timestamp = toMs(s?.timestamp);
  const status = word(s?.status);
  const recipient = s ? customerOf(s.recipient_id, s.recipient_user_id, scope.contacts) : undefined;
  const where = `${scope.where}, ${label}${externalId ? ` (${externalId})` : ''}`;
  const odd = (reason: string): Oddity => ({ businessId: scope.businessId, reason: `${where}: ${reason}` });
  if (!s) return odd('not an object');
  if (!externalId || timestamp === undefined || !recipient || !status) {
    const missing = [!externalId && 'id', timestamp === undefined && 'timestamp', !recipient && 'recipient', !status && 'status'].filter(Boolean);
    return odd(`missing ${missing.join(', ')}; not forwarded`);
  }
  // "played" (first play of a voice message, since 2026-03) arrives after "read", so forwarding it as "read"
  // would change nothing; it is counted as an oddity instead of being stretched to fit the status enum.
  if (status === 'played') return odd('status "played" (voice message first played) has no neutral equivalent; not forwarded');
  if (!STATUSES.has(status)) return odd(`unknown status "${status}"; not forwarded`);
  return {
    channel: 'whatsapp',
    businessId: scope.businessId,
    externalId,
    timestamp,
    kind: 'status',
    status: status as DeliveryStatus,
    recipient,
    errors: list(s.errors).map(metaError),
    ...(isSendTag(s.biz_opaque_callback_data) ? { sendTag: s.biz_opaque_callback_data } : {}),
  };
}

/**
 * The customer: wa_id when Meta gives one (from the contact matched by id, else `from`), else the BSUID.
 * Contacts are matched by wa_id or user_id, never by position; a missing contacts block is fine.
 */
function customerOf(rawPhone: unknown, rawUserId: unknown, contacts: Array<Untrusted<WaContact>>): CustomerRef | undefined {
  const phone = word(rawPhone);
  const userId = word(rawUserId);
  const contact = contacts.find((c) => (userId !== undefined && word(c.user_id) === userId) || (phone !== undefined && word(c.wa_id) === phone));
  const waId = word(contact?.wa_id) ?? phone;
  const bsuid = userId ?? word(contact?.user_id);
  const id = waId ?? bsuid;
  if (!id) return undefined;
  const profile = rec<NonNullable<WaContact['profile']>>(contact?.profile);
  return defined({ id, phone: phone ?? word(contact?.wa_id), bsuid, username: word(profile?.username), name: word(profile?.name) });
}

function metaError(raw: unknown): MetaErrorInfo {
  const e = rec<WaError>(raw);
  return defined({
    code: num(e?.code) ?? (Number(str(e?.code)) || 0),
    title: word(e?.title),
    message: word(e?.message),
    details: word(rec<{ details: string }>(e?.error_data)?.details),
  });
}

/**
 * Meta sends unix seconds as a string ("1749416383"); some fields use a number. Only a time a Date can hold counts:
 * a fuzzer's 5e-324 rounded to 0 ms, and 1e300 s makes an Invalid Date where the time is stored.
 */
function toMs(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : num(value);
  const ms = seconds === undefined ? undefined : Math.round(seconds * 1000);
  return ms !== undefined && ms > 0 && ms <= MAX_DATE_MS ? ms : undefined;
}

/** The last millisecond a JavaScript Date (and so a stored timestamp) can represent. */
const MAX_DATE_MS = 8.64e15;
