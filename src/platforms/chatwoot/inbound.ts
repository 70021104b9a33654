/**
 * Creating the customer's message in Chatwoot: content, threading, attributes and attachments in one call
 * (multipart when there are files). source_id is the Meta id, which is also how a retry recognises a message
 * an earlier, interrupted attempt already created.
 */
import type { InboundDelivery } from '../platform';
import type { ChatwootClient } from './client';

interface MessageJson {
  id: number;
  source_id?: string | null;
}

export function messageContent(delivery: InboundDelivery): string {
  const { event } = delivery;
  const base = event.kind === 'reaction' ? (event.emoji ?? '(reaction removed)') : event.text;
  return [base, ...delivery.notes].filter((part) => part && part.length > 0).join('\n\n');
}

export function contentAttributes(delivery: InboundDelivery): Record<string, unknown> {
  const { event } = delivery;
  const attrs: Record<string, unknown> = { external_created_at: Math.floor(event.timestamp / 1000) };
  const replyTo = event.kind === 'reaction' ? event.targetExternalId : event.replyTo;
  // Chatwoot resolves in_reply_to_external_id only against source_ids, which agent messages never have; when we
  // know the platform id of the quoted message (an agent reply we sent), thread by that instead.
  if (delivery.replyToPlatformMessageId) attrs.in_reply_to = Number(delivery.replyToPlatformMessageId);
  else if (replyTo) attrs.in_reply_to_external_id = replyTo;
  if (event.kind === 'reaction') {
    attrs.is_reaction = true;
    if (event.emoji === null) attrs.reaction_removed = true;
  } else {
    Object.assign(attrs, event.attributes);
    if (event.forwarded) attrs.forwarded = event.forwarded;
    if (event.placeholderReason) {
      attrs.is_unsupported = true;
      attrs.unsupported_reason = event.placeholderReason;
    }
  }
  return attrs;
}

/** `outgoing`: a message the business sent elsewhere (an echo), shown as theirs and marked external_echo. */
export async function createIncomingMessage(client: ChatwootClient, conversationId: number, delivery: InboundDelivery, messageType: 'incoming' | 'outgoing' = 'incoming'): Promise<number> {
  const path = `/conversations/${conversationId}/messages`;
  const content = messageContent(delivery);
  const attrs = { ...contentAttributes(delivery), ...(messageType === 'outgoing' ? { external_echo: true } : {}) };
  if (delivery.files.length === 0) {
    const msg = await client.post<MessageJson>(path, {
      content, message_type: messageType, private: false, source_id: delivery.event.externalId, content_attributes: attrs,
    });
    return msg.id;
  }
  const form = new FormData();
  form.append('content', content);
  form.append('message_type', messageType);
  form.append('private', 'false');
  form.append('source_id', delivery.event.externalId);
  form.append('content_attributes', JSON.stringify(attrs));
  for (const file of delivery.files) {
    form.append('attachments[]', new Blob([file.bytes], { type: file.mimeType }), file.filename);
  }
  const msg = await client.post<MessageJson>(path, form);
  return msg.id;
}

/** Looks for a message with this source_id among the conversation's latest messages. */
export async function findRecentBySourceId(client: ChatwootClient, conversationId: number, sourceId: string): Promise<number | undefined> {
  const res = await client.get<{ payload?: MessageJson[] }>(`/conversations/${conversationId}/messages`);
  return (res.payload ?? []).find((m) => m.source_id === sourceId)?.id;
}
