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

interface CwAttachment { file_type?: string; data_url?: string; content_type?: string; extension?: string }
interface CwPayload {
  event?: string;
  id?: number;
  message_type?: string;
  private?: boolean;
  source_id?: string | null;
  content?: string | null;
  content_type?: string;
  content_attributes?: { in_reply_to?: number | null; in_reply_to_external_id?: string | null; items?: Array<{ title?: string; value?: string }> };
  additional_attributes?: { template_params?: unknown };
  attachments?: CwAttachment[];
  created_at?: string;
  inbox?: { id?: number };
  conversation?: {
    id?: number;
    inbox_id?: number;
    status?: string;
    contact_inbox?: { source_id?: string };
    meta?: { sender?: { phone_number?: string | null; identifier?: string | null } };
  };
}

export type ParsedChatwootWebhook =
  | { command: OutboundCommand; deliveryKey: string }
  | { ignored: string };

function attachmentKind(a: CwAttachment): MediaKind {
  const type = (a.content_type ?? '').split(';')[0]!.trim();
  if (type === 'image/webp') return 'sticker';
  switch (a.file_type) {
    case 'image': return 'image';
    case 'audio': return 'audio';
    case 'video': return 'video';
    default: return 'document';
  }
}

function attachmentsOf(p: CwPayload): OutboundAttachment[] {
  return (p.attachments ?? [])
    .filter((a): a is CwAttachment & { data_url: string } => typeof a.data_url === 'string' && a.data_url.length > 0)
    .map((a) => {
      const urlName = decodeURIComponent(new URL(a.data_url, 'http://x').pathname.split('/').pop() ?? '');
      return {
        kind: attachmentKind(a),
        url: a.data_url,
        filename: urlName && /\.\w{1,8}$/.test(urlName) ? urlName : undefined,
        mimeType: a.content_type ?? undefined,
      };
    });
}

/** The customer: the contact_inbox source id we created, or the contact's phone when an agent started the chat. */
function recipientOf(p: CwPayload): Recipient | undefined {
  const sourceId = p.conversation?.contact_inbox?.source_id;
  const phone = p.conversation?.meta?.sender?.phone_number?.replace(/\D/g, '') || undefined;
  // Digits: a wa_id (≤ 15) or a Messenger PSID / Instagram IGSID (longer); or a WhatsApp BSUID.
  const usable = sourceId && (/^\d{6,32}$/.test(sourceId) || /^[A-Z]{2}\.\w+$/.test(sourceId)) ? sourceId : undefined;
  const id = usable ?? phone;
  return id ? { id, phone } : undefined;
}

export function parseChatwootWebhook(body: unknown, expectedInboxId: number): ParsedChatwootWebhook {
  const p = body as CwPayload;
  if (!p || typeof p !== 'object') return { ignored: 'not an object' };
  const conversationId = p.conversation?.id;
  const inboxId = p.inbox?.id ?? p.conversation?.inbox_id;
  if (inboxId !== undefined && inboxId !== expectedInboxId) return { ignored: 'another inbox' };
  if (p.event === 'conversation_typing_on' || p.event === 'conversation_typing_off') {
    if (conversationId === undefined) return { ignored: 'typing without conversation' };
    return { command: { kind: 'typing', platformConversationId: String(conversationId), on: p.event === 'conversation_typing_on' }, deliveryKey: `${p.event}:${conversationId}:${Date.now()}` };
  }
  if (p.event === 'conversation_status_changed' && p.conversation?.status === 'resolved') {
    const recipient = recipientOf(p);
    if (conversationId === undefined || !recipient) return { ignored: 'resolved without conversation' };
    return { command: { kind: 'conversation_resolved', platformConversationId: String(conversationId), recipient }, deliveryKey: `resolved:${conversationId}` };
  }
  if (p.event !== 'message_created') return { ignored: `event ${String(p.event)}` };
  if (p.message_type !== 'outgoing' && p.message_type !== 'template') return { ignored: `message_type ${String(p.message_type)}` };
  if (p.private) return { ignored: 'private note' };
  if (p.source_id) return { ignored: 'created by the bridge (has a source_id)' };
  if (p.content_type === 'voice_call') return { ignored: 'voice_call bubble' };
  if (typeof p.id !== 'number' || conversationId === undefined) return { ignored: 'message without ids' };
  const recipient = recipientOf(p);
  if (!recipient) return { ignored: 'no customer id on the conversation' };

  const attrs = p.content_attributes ?? {};
  let template: ReturnType<typeof fromPlainText>;
  let templateError: string | undefined;
  try {
    template = fromChatwootTemplateParams(p.additional_attributes?.template_params) ?? fromPlainText(p.content ?? '');
  } catch (err) {
    // A malformed template command is the agent's to fix: it travels on and fails visibly, with this reason.
    templateError = (err as Error).message;
  }
  const choices = p.content_type === 'input_select'
    ? (attrs.items ?? []).map((i) => ({ title: String(i.title ?? i.value ?? ''), value: String(i.value ?? i.title ?? '') })).filter((c) => c.title)
    : undefined;
  const createdAt = Date.parse(p.created_at ?? '') || Date.now();
  return {
    deliveryKey: `message:${p.id}`,
    command: {
      kind: 'reply',
      platformMessageId: String(p.id),
      platformConversationId: String(conversationId),
      recipient,
      createdAt,
      reply: {
        content: p.content ?? null,
        attachments: attachmentsOf(p),
        replyTo: attrs.in_reply_to_external_id || attrs.in_reply_to
          ? { externalId: attrs.in_reply_to_external_id ?? undefined, platformMessageId: attrs.in_reply_to ? String(attrs.in_reply_to) : undefined }
          : undefined,
        choices: choices && choices.length > 0 ? choices : undefined,
        template: template ? { name: template.name, language: template.language, components: template.components } : undefined,
        templateError,
      },
    },
  };
}
