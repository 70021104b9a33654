/**
 * Builders for WhatsApp webhook bodies in Meta's documented shape (see ../shared/reference/meta/whatsapp-webhook-text.json).
 */
import { PHONE_NUMBER_ID } from './harness';

export interface TextSpec {
  from: string;
  id: string;
  body: string;
  timestamp: number; // seconds
  name?: string;
  contextId?: string;
}

export function textMessage(spec: TextSpec): Record<string, unknown> {
  return {
    from: spec.from,
    id: spec.id,
    timestamp: String(spec.timestamp),
    type: 'text',
    text: { body: spec.body },
    ...(spec.contextId ? { context: { from: '15550783881', id: spec.contextId } } : {}),
  };
}

export function change(messages: Array<Record<string, unknown>>, phoneNumberId = PHONE_NUMBER_ID): Record<string, unknown> {
  const contacts = [...new Map(messages.map((m) => [m.from as string, { profile: { name: `Customer ${String(m.from).slice(-4)}` }, wa_id: m.from }])).values()];
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
      contacts,
      messages,
    },
  };
}

export function delivery(entries: Array<Array<Record<string, unknown>>>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: entries.map((changes, i) => ({ id: `10229012934039${i}`, changes })),
  };
}

let counter = 0;
export function wamid(): string {
  counter += 1;
  return `wamid.TEST${Date.now().toString(36)}${counter.toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 8)}`;
}

/** `tag`: the send's biz_opaque_callback_data, which Meta echoes in each status of that message. */
export function statusChange(statuses: Array<{ id: string; status: string; recipient: string; timestamp: number; errors?: Array<Record<string, unknown>>; tag?: string }>, phoneNumberId = PHONE_NUMBER_ID): Record<string, unknown> {
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
      statuses: statuses.map((s) => ({
        id: s.id, status: s.status, timestamp: String(s.timestamp), recipient_id: s.recipient,
        ...(s.tag ? { biz_opaque_callback_data: s.tag } : {}),
        ...(s.errors ? { errors: s.errors } : {}),
      })),
    },
  };
}
