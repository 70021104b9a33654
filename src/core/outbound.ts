/**
 * The channel-neutral model of what agents do on the platform side: a reply to send, a typing indicator, a
 * conversation closed. Platform adapters produce these from their webhooks; channels turn them into sends.
 */
import type { MediaKind } from './events';

export interface OutboundAttachment {
  kind: MediaKind;
  /** Where the bridge downloads the file (the platform's own URL). */
  url: string;
  filename?: string;
  mimeType?: string;
  voice?: boolean;
}

export interface TemplateParameterSet {
  name: string;
  language: string;
  /** Channel-specific components, already in the channel's shape (WhatsApp template components). */
  components: unknown[];
}

export interface OutboundReply {
  content: string | null;
  attachments: OutboundAttachment[];
  /** The message being answered: Meta's id when the platform knows it, else the platform's own id. */
  replyTo?: { externalId?: string; platformMessageId?: string };
  /** Quick-reply choices (Chatwoot input_select items). */
  choices?: Array<{ title: string; value: string }>;
  /** A template the agent chose (outside the 24-hour window only templates may be sent). */
  template?: TemplateParameterSet;
  /** The agent typed a template command the bridge could not read: the reply fails with this reason. */
  templateError?: string;
}

export interface Recipient {
  /** The id the customer is known by on the channel: wa_id/phone digits or a BSUID. */
  id: string;
  /** E.164 digits, when the platform knows a phone number. */
  phone?: string;
}

export interface ReplyCommand {
  kind: 'reply';
  platformMessageId: string;
  platformConversationId: string;
  recipient: Recipient;
  reply: OutboundReply;
  /** When the agent sent it (ms), for latency and ordering. */
  createdAt: number;
}

export interface TypingCommand {
  kind: 'typing';
  platformConversationId: string;
  on: boolean;
}

export interface ConversationResolvedCommand {
  kind: 'conversation_resolved';
  platformConversationId: string;
  recipient: Recipient;
}

export type OutboundCommand = ReplyCommand | TypingCommand | ConversationResolvedCommand;
