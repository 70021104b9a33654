/**
 * Chatwoot → bridge webhooks (the API inbox's webhook_url). Signature: `sha256=` HMAC-SHA256(inbox secret,
 * "{X-Chatwoot-Timestamp}.{raw body}"), constant-time, timestamps older than 5 minutes refused (Chatwoot ≥ 4.13).
 * Only what an agent sent travels to Meta: message_created, outgoing or template, not private, no source_id
 * (messages the bridge itself created carry the Meta id), not a voice_call bubble, and from this inbox.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MediaKind } from '../../core/events';
import type { OutboundAttachment, OutboundCommand, Recipient } from '../../core/outbound';
import { fromChatwootTemplateParams, fromPlainText } from '../../channels/whatsapp/templates';

export const MAX_SIGNATURE_AGE_S = 300;

export function signChatwootBody(secret: string, timestamp: string, raw: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex')}`;
}

export type SignatureVerdict = 'ok' | 'missing' | 'stale' | 'mismatch';

export function verifyChatwootSignature(raw: Buffer, timestamp: string | undefined, signature: string | undefined, secret: string, nowS = Date.now() / 1000): SignatureVerdict {
  if (!timestamp || !signature) return 'missing';
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(nowS - ts) > MAX_SIGNATURE_AGE_S) return 'stale';
  const expected = Buffer.from(signChatwootBody(secret, timestamp, raw));
  const given = Buffer.from(signature.trim());
  return expected.length === given.length && timingSafeEqual(expected, given) ? 'ok' : 'mismatch';
}

/**
 * The webhook body is untrusted JSON: every field is read through these, which narrow before use (a fuzzer found
 * a phone number sent as a number, and content sent as an object, each of which threw here before).
 */
type Fields = Record<string, unknown>;
const fields = (v: unknown): Fields | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** Chatwoot's ids are integers; older documentation shows them as digit strings. */
const idOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : undefined);
/** A choice's title or value as written (a number as its digits); anything else is no text. */
const label = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

export type ParsedChatwootWebhook =
  | { command: OutboundCommand; deliveryKey: string }
  | { ignored: string };

function attachmentKind(fileType: string | undefined, contentType: string | undefined): MediaKind {
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (type === 'image/webp') return 'sticker';
  switch (fileType) {
    case 'image': return 'image';
    case 'audio': return 'audio';
    case 'video': return 'video';
    default: return 'document';
  }
}

/** The file name a data_url ends with, when it looks like one; never throws on a malformed URL or escape. */
function fileNameOf(dataUrl: string): string | undefined {
  try {
    const name = decodeURIComponent(new URL(dataUrl, 'http://x').pathname.split('/').pop() ?? '');
    return name && /\.\w{1,8}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

function attachmentsOf(p: Fields): OutboundAttachment[] {
  const list = Array.isArray(p.attachments) ? p.attachments : [];
  return list.map(fields).flatMap((a) => {
    const url = text(a?.data_url);
    if (!a || !url) return [];
    const contentType = text(a.content_type);
    return [{ kind: attachmentKind(text(a.file_type), contentType), url, filename: fileNameOf(url), mimeType: contentType }];
  });
}

/** The customer: the contact_inbox source id we created, or the contact's phone when an agent started the chat. */
function recipientOf(conversation: Fields | undefined): Recipient | undefined {
  const sourceId = text(fields(conversation?.contact_inbox)?.source_id);
  const phone = text(fields(fields(conversation?.meta)?.sender)?.phone_number)?.replace(/\D/g, '') || undefined;
  // Digits: a wa_id (≤ 15) or a Messenger PSID / Instagram IGSID (longer); or a WhatsApp BSUID.
  const usable = sourceId && (/^\d{6,32}$/.test(sourceId) || /^[A-Z]{2}\.\w+$/.test(sourceId)) ? sourceId : undefined;
  const id = usable ?? phone;
  return id ? { id, phone } : undefined;
}

export function parseChatwootWebhook(body: unknown, expectedInboxId: number): ParsedChatwootWebhook {
  const p = fields(body);
  if (!p) return { ignored: 'not an object' };
  const conversation = fields(p.conversation);
  const conversationId = idOf(conversation?.id);
  const inboxId = fields(p.inbox)?.id ?? conversation?.inbox_id;
  if (inboxId !== undefined && inboxId !== null && idOf(inboxId) !== expectedInboxId) return { ignored: 'another inbox' };
  const event = text(p.event);
  if (event === 'conversation_typing_on' || event === 'conversation_typing_off') {
    if (conversationId === undefined) return { ignored: 'typing without conversation' };
    return { command: { kind: 'typing', platformConversationId: String(conversationId), on: event === 'conversation_typing_on' }, deliveryKey: `${event}:${conversationId}:${Date.now()}` };
  }
  if (event === 'conversation_status_changed' && conversation?.status === 'resolved') {
    const recipient = recipientOf(conversation);
    if (conversationId === undefined || !recipient) return { ignored: 'resolved without conversation' };
    return { command: { kind: 'conversation_resolved', platformConversationId: String(conversationId), recipient }, deliveryKey: `resolved:${conversationId}` };
  }
  if (event !== 'message_created') return { ignored: `event ${event ?? typeof p.event}` };
  if (p.message_type !== 'outgoing' && p.message_type !== 'template') return { ignored: `message_type ${text(p.message_type) ?? typeof p.message_type}` };
  if (p.private) return { ignored: 'private note' };
  if (p.source_id) return { ignored: 'created by the bridge (has a source_id)' };
  if (p.content_type === 'voice_call') return { ignored: 'voice_call bubble' };
  const messageId = idOf(p.id);
  if (typeof p.id !== 'number' || messageId === undefined || conversationId === undefined) return { ignored: 'message without ids' };
  const recipient = recipientOf(conversation);
  if (!recipient) return { ignored: 'no customer id on the conversation' };

  const attrs = fields(p.content_attributes) ?? {};
  const content = text(p.content) ?? null;
  let template: ReturnType<typeof fromPlainText>;
  let templateError: string | undefined;
  try {
    template = fromChatwootTemplateParams(fields(p.additional_attributes)?.template_params) ?? fromPlainText(content ?? '');
  } catch (err) {
    // A malformed template command is the agent's to fix: it travels on and fails visibly, with this reason.
    templateError = (err as Error).message;
  }
  const choices = p.content_type === 'input_select' && Array.isArray(attrs.items)
    ? attrs.items.map(fields).map((i) => {
      const title = label(i?.title) ?? label(i?.value) ?? '';
      return { title, value: label(i?.value) ?? label(i?.title) ?? '' };
    }).filter((c) => c.title)
    : undefined;
  const createdAt = Date.parse(text(p.created_at) ?? '') || Date.now();
  const replyToExternal = text(attrs.in_reply_to_external_id) || undefined;
  const replyToPlatform = idOf(attrs.in_reply_to);
  return {
    deliveryKey: `message:${messageId}`,
    command: {
      kind: 'reply',
      platformMessageId: String(messageId),
      platformConversationId: String(conversationId),
      recipient,
      createdAt,
      reply: {
        content,
        attachments: attachmentsOf(p),
        replyTo: replyToExternal || replyToPlatform
          ? { externalId: replyToExternal, platformMessageId: replyToPlatform ? String(replyToPlatform) : undefined }
          : undefined,
        choices: choices && choices.length > 0 ? choices : undefined,
        template: template ? { name: template.name, language: template.language, components: template.components } : undefined,
        templateError,
      },
    },
  };
}
