/**
 * Events a platform is shown as messages: an edit becomes a readable note threaded to the original, an unsend
 * the platform cannot mark becomes a note that says so, and an echo becomes the message the business sent.
 * The wording and the attributes (`editOf`, `revokes`) match what the WhatsApp parser produces for its own edits
 * and revokes, so a platform sees one convention whatever the channel. Pure.
 */
import type { EchoEvent, EditEvent, InboundMessageEvent, UnsendEvent } from './events';

export function editAsMessage(event: EditEvent): InboundMessageEvent {
  const attributes: Record<string, unknown> = { editOf: event.targetExternalId };
  if (event.editCount !== undefined) attributes.editCount = event.editCount;
  return {
    channel: event.channel, businessId: event.businessId, externalId: event.externalId, timestamp: event.timestamp, customer: event.customer,
    kind: 'message',
    text: `✏️ edited: ${event.text}`,
    attachments: [],
    replyTo: event.targetExternalId,
    originalType: 'edit',
    attributes,
  };
}

/** `known`: whether the unsent message reached the platform (then the note threads to it). */
export function unsendAsMessage(event: UnsendEvent, known: boolean): InboundMessageEvent {
  return {
    channel: event.channel, businessId: event.businessId, externalId: event.externalId, timestamp: event.timestamp, customer: event.customer,
    kind: 'message',
    text: known ? '🗑️ The customer unsent this message' : '🗑️ The customer unsent a message (one that never reached this inbox)',
    attachments: [],
    ...(known ? { replyTo: event.targetExternalId } : {}),
    originalType: 'unsend',
    attributes: { revokes: event.targetExternalId },
  };
}

export function echoAsMessage(event: EchoEvent): InboundMessageEvent {
  const { appId: _appId, metadata: _metadata, taggedByBridge: _tagged, kind: _kind, ...message } = event;
  return { ...message, kind: 'message' };
}
