/**
 * The way back: the body of POST /platform/v1/messages (validated with joi) → a ReplyCommand for the shared
 * outbound pipeline, the same one Chatwoot replies take. `message_id` is the platform's own id for the reply:
 * it makes a repeated POST harmless and is what status events name. Pure: who the conversation's customer is
 * gets looked up by the adapter (index.ts) between validating and building.
 */
import Joi from 'joi';
import type { MediaKind } from '../../core/events';
import type { OutboundAttachment, Recipient, ReplyCommand } from '../../core/outbound';

const MEDIA_KINDS: readonly MediaKind[] = ['image', 'audio', 'video', 'document', 'sticker'];

export const replyRequestSchema = Joi.object({
  message_id: Joi.string().pattern(/^[\w.:@/-]{1,128}$/).required()
    .description('your id for this reply; a repeat with the same id is sent once, and status events name it'),
  conversation_id: Joi.string().min(1).max(128).description('conversation_id from the events'),
  customer: Joi.object({
    id: Joi.string().min(1).max(128).required(),
    phone: Joi.string().pattern(/^\+?\d{6,15}$/),
  }),
  text: Joi.string().max(4096).allow(''),
  media: Joi.array().max(10).items(Joi.object({
    url: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
    kind: Joi.string().valid(...MEDIA_KINDS),
    filename: Joi.string().max(240),
    mime_type: Joi.string().max(127),
    voice: Joi.boolean(),
  })),
  reply_to: Joi.object({
    meta_message_id: Joi.string().max(256),
    message_id: Joi.string().max(128),
  }).or('meta_message_id', 'message_id'),
  template: Joi.object({
    name: Joi.string().pattern(/^[a-z0-9_]{1,512}$/).required(),
    language: Joi.string().pattern(/^[a-z]{2,3}(_[A-Z]{2})?$/).required(),
    parameters: Joi.array().max(100).items(Joi.string().max(1024)),
    components: Joi.array().max(20).items(Joi.object().unknown(true)),
  }).oxor('parameters', 'components'),
  choices: Joi.array().max(10).items(Joi.object({
    title: Joi.string().min(1).max(100).required(),
    value: Joi.string().max(200),
  })),
}).or('conversation_id', 'customer').or('text', 'media', 'template');

export interface ReplyRequest {
  message_id: string;
  conversation_id?: string;
  customer?: { id: string; phone?: string };
  text?: string;
  media?: Array<{ url: string; kind?: MediaKind; filename?: string; mime_type?: string; voice?: boolean }>;
  reply_to?: { meta_message_id?: string; message_id?: string };
  template?: { name: string; language: string; parameters?: string[]; components?: Array<Record<string, unknown>> };
  choices?: Array<{ title: string; value?: string }>;
}

const BY_EXTENSION: Record<string, MediaKind> = {
  jpg: 'image', jpeg: 'image', png: 'image', webp: 'sticker', mp4: 'video', '3gp': 'video',
  ogg: 'audio', opus: 'audio', mp3: 'audio', m4a: 'audio', aac: 'audio', amr: 'audio',
};

/** The kind the platform named, else from the MIME type, else from the URL's extension, else a document. */
export function mediaKindOf(m: { url: string; kind?: MediaKind; mime_type?: string }): MediaKind {
  if (m.kind) return m.kind;
  const type = (m.mime_type ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'image/webp') return 'sticker';
  const major = type.split('/')[0];
  if (major === 'image' || major === 'audio' || major === 'video') return major;
  if (type) return 'document';
  const ext = new URL(m.url).pathname.split('.').pop()?.toLowerCase() ?? '';
  return BY_EXTENSION[ext] ?? 'document';
}

function attachmentOf(m: NonNullable<ReplyRequest['media']>[number]): OutboundAttachment {
  const out: OutboundAttachment = { kind: mediaKindOf(m), url: m.url };
  if (m.filename) out.filename = m.filename;
  if (m.mime_type) out.mimeType = m.mime_type;
  if (m.voice) out.voice = true;
  return out;
}

export function validateReplyRequest(body: unknown): { request: ReplyRequest } | { invalid: string[] } {
  // joi lets a missing value through an optional schema: a body that was not JSON (another Content-Type) reached
  // the builder as undefined and threw there (a 500, found by the fuzzer).
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { invalid: ['the body must be a JSON object, sent with Content-Type: application/json'] };
  }
  const { value, error } = replyRequestSchema.validate(body, { abortEarly: false, convert: false });
  return error ? { invalid: error.details.map((d) => d.message) } : { request: value as ReplyRequest };
}

/** Phone digits only, as the channels take them. */
export function phoneDigits(phone: string | undefined): string | undefined {
  return phone?.replace(/\D/g, '') || undefined;
}

export function replyCommand(req: ReplyRequest, conversationId: string, recipient: Recipient, nowMs: number): ReplyCommand {
  const template = req.template
    ? {
      name: req.template.name,
      language: req.template.language,
      components: req.template.components
        ?? (req.template.parameters?.length ? [{ type: 'body', parameters: req.template.parameters.map((text) => ({ type: 'text', text })) }] : []),
    }
    : undefined;
  return {
    kind: 'reply',
    platformMessageId: req.message_id,
    platformConversationId: conversationId,
    recipient,
    createdAt: nowMs,
    reply: {
      content: req.text ?? null,
      attachments: (req.media ?? []).map(attachmentOf),
      replyTo: req.reply_to ? { externalId: req.reply_to.meta_message_id, platformMessageId: req.reply_to.message_id } : undefined,
      choices: req.choices?.map((c) => ({ title: c.title, value: c.value ?? c.title })),
      template,
    },
  };
}
