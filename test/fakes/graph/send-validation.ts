/**
 * What POST /{phone-number-id}/messages accepts, checked like Meta does (meta-api-notes §3.1–3.3, limits from
 * WA-SEND / WA-BTN / WA-LIST and the OAS). Where Meta's exact error text is not documented, the code follows
 * Meta's error table and the `details` wording is ours (UNCONFIRMED).
 */
import { graphErrors } from './errors';

export const MESSAGE_TYPES = ['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'template', 'reaction'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
const MEDIA_TYPES = new Set<string>(['image', 'audio', 'video', 'document', 'sticker']);

export type SendRequest =
  | { kind: 'read'; messageId: string; typing: boolean }
  | { kind: 'message'; to?: string; recipient?: string; type: MessageType; replyTo?: string };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function maxLen(value: unknown, limit: number, param: string, strictCode = false): void {
  if (typeof value === 'string' && [...value].length > limit) {
    const details = `Param ${param} must be at most ${limit} characters long.`;
    throw strictCode ? graphErrors.invalidValue(details) : graphErrors.invalidParam(details);
  }
}

function requireObject(body: Json, key: string): Json {
  const v = body[key];
  if (!isObject(v)) throw graphErrors.required(key);
  return v;
}

function checkMedia(type: string, media: Json): void {
  const id = str(media.id);
  const link = str(media.link);
  if (!id && !link) throw graphErrors.invalidParam(`Param ${type} must have either id or link.`);
  if (id && link) throw graphErrors.invalidParam(`Param ${type} must have either id or link, not both.`);
  // UNCONFIRMED: an unknown media id is not checked here; Meta reports bad ids asynchronously (status webhook).
  if (link && !/^https?:\/\/\S+$/i.test(link)) throw graphErrors.invalidParam(`Param ${type}['link'] is not a valid URI.`);
  if (media.caption !== undefined) {
    // Captions exist for image, video and document only (OAS MediaObject; Chatwoot omits them for audio/sticker).
    if (type === 'audio' || type === 'sticker') throw graphErrors.invalidParam(`Param ${type}['caption'] is not supported for ${type}.`);
    maxLen(media.caption, 1024, `${type}['caption']`);
  }
}

function checkButtons(interactive: Json, action: Json): void {
  const buttons = action.buttons;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) {
    throw graphErrors.invalidValue(`Buttons count is ${Array.isArray(buttons) ? buttons.length : 0}, must be between 1 and 3.`);
  }
  const titles = new Set<string>();
  for (const b of buttons) {
    const reply = isObject(b) && isObject(b.reply) ? b.reply : undefined;
    const title = str(reply?.title);
    const id = str(reply?.id);
    if (!isObject(b) || b.type !== 'reply' || !reply || !title || !id) throw graphErrors.required("interactive['action']['buttons'][]['reply'] id and title");
    maxLen(title, 20, "button['reply']['title']", true);
    maxLen(id, 256, "button['reply']['id']", true);
    if (titles.has(title)) throw graphErrors.invalidValue('Button titles must be unique.');
    titles.add(title);
  }
  maxLen(str(isObject(interactive.body) ? interactive.body.text : undefined), 1024, "interactive['body']['text']", true);
}

function checkList(interactive: Json, action: Json): void {
  const button = str(action.button);
  if (!button) throw graphErrors.required("interactive['action']['button']");
  maxLen(button, 20, "interactive['action']['button']", true);
  const sections = action.sections;
  if (!Array.isArray(sections) || sections.length < 1 || sections.length > 10) throw graphErrors.invalidValue('Sections count must be between 1 and 10.');
  let rows = 0;
  for (const s of sections) {
    if (!isObject(s) || !Array.isArray(s.rows) || s.rows.length === 0) throw graphErrors.required("interactive['action']['sections'][]['rows']");
    if (sections.length > 1 && !str(s.title)) throw graphErrors.required("interactive['action']['sections'][]['title']");
    maxLen(s.title, 24, "section['title']", true);
    for (const r of s.rows as unknown[]) {
      if (!isObject(r) || !str(r.id) || !str(r.title)) throw graphErrors.required("row['id'] and row['title']");
      maxLen(r.title, 24, "row['title']", true);
      maxLen(r.id, 200, "row['id']", true);
      maxLen(r.description, 72, "row['description']", true);
      rows += 1;
    }
  }
  if (rows > 10) throw graphErrors.invalidValue(`Total row count is ${rows}, must be at most 10.`);
  maxLen(str(isObject(interactive.body) ? interactive.body.text : undefined), 4096, "interactive['body']['text']", true);
  if (isObject(interactive.header) && interactive.header.type !== 'text') throw graphErrors.invalidValue('List messages only support a text header.');
}

function checkInteractive(interactive: Json): void {
  const type = str(interactive.type);
  if (!type) throw graphErrors.required("interactive['type']");
  const action = interactive.action;
  if (!isObject(action)) throw graphErrors.required("interactive['action']");
  if ((type === 'button' || type === 'list') && !(isObject(interactive.body) && str(interactive.body.text))) throw graphErrors.required("interactive['body']['text']");
  if (isObject(interactive.footer)) maxLen(interactive.footer.text, 60, "interactive['footer']['text']", true);
  if (isObject(interactive.header) && interactive.header.type === 'text') maxLen(interactive.header.text, 60, "interactive['header']['text']", true);
  if (type === 'button') checkButtons(interactive, action);
  else if (type === 'list') checkList(interactive, action);
  // cta_url, flow, catalog_message, product, product_list, location_request_message, address_message,
  // contact_request: accepted with the checks above only.
}

function checkPayload(type: MessageType, body: Json): void {
  if (type === 'contacts') {
    const contacts = body.contacts;
    if (!Array.isArray(contacts) || contacts.length === 0) throw graphErrors.required('contacts');
    if (contacts.length > 5) throw graphErrors.invalidParam('Param contacts must have at most 5 items.');
    for (const c of contacts) if (!isObject(c) || !isObject(c.name) || !str(c.name.formatted_name)) throw graphErrors.required("contacts[]['name']['formatted_name']");
    return;
  }
  const obj = requireObject(body, type);
  switch (type) {
    case 'text':
      if (!str(obj.body)) throw graphErrors.required("text['body']");
      maxLen(obj.body, 4096, "text['body']");
      return;
    case 'location':
      if (typeof obj.latitude !== 'number' && typeof obj.latitude !== 'string') throw graphErrors.required("location['latitude']");
      if (typeof obj.longitude !== 'number' && typeof obj.longitude !== 'string') throw graphErrors.required("location['longitude']");
      return;
    case 'interactive':
      checkInteractive(obj);
      return;
    case 'template':
      if (!str(obj.name)) throw graphErrors.required("template['name']");
      if (!isObject(obj.language) || !str(obj.language.code)) throw graphErrors.required("template['language']['code']");
      return;
    case 'reaction':
      if (!str(obj.message_id)) throw graphErrors.required("reaction['message_id']");
      if (typeof obj.emoji !== 'string') throw graphErrors.required("reaction['emoji']");
      if (isObject(body.context)) throw graphErrors.invalidParam('Reactions cannot be sent as a reply.');
      return;
    default:
      if (MEDIA_TYPES.has(type)) checkMedia(type, obj);
  }
}

/** Throws a GraphError for anything Meta would refuse; returns what the fake needs to answer. */
export function validateSend(body: unknown): SendRequest {
  if (!isObject(body)) throw graphErrors.invalidParam('The request body must be a JSON object.');
  if (body.messaging_product === undefined) throw graphErrors.required('messaging_product');
  if (body.messaging_product !== 'whatsapp') throw graphErrors.invalidParam(`Param messaging_product must be one of {WHATSAPP} - got "${String(body.messaging_product)}".`);

  if (body.status !== undefined) {
    if (body.status !== 'read') throw graphErrors.invalidParam(`Param status must be one of {READ} - got "${String(body.status)}".`);
    const messageId = str(body.message_id);
    if (!messageId) throw graphErrors.required('message_id');
    // Meta answers 131009 for ids it does not know; the fake only knows the shape of a wamid.
    if (!/^wamid\.\S+$/.test(messageId)) throw graphErrors.invalidValue('Invalid message_id.');
    let typing = false;
    if (body.typing_indicator !== undefined) {
      if (!isObject(body.typing_indicator) || body.typing_indicator.type !== 'text') throw graphErrors.invalidParam("Param typing_indicator['type'] must be one of {TEXT}.");
      typing = true;
    }
    return { kind: 'read', messageId, typing };
  }

  const to = str(body.to)?.trim();
  const recipient = str(body.recipient)?.trim();
  if (!to && !recipient) throw graphErrors.required('to');
  // `to` may carry +, -, (), spaces (WA-SEND); a group id is digits too. Anything else Meta cannot route.
  if (to && !/^\+?[\d\s()-]{5,24}$/.test(to)) throw graphErrors.invalidParam(`Param to is not a valid phone number or group id - got "${to}".`);
  if (body.recipient_type !== undefined && body.recipient_type !== 'individual' && body.recipient_type !== 'group') {
    throw graphErrors.invalidParam('Param recipient_type must be one of {INDIVIDUAL, GROUP}.');
  }
  // "type" may be omitted and then means text (WA-SEND, OAS Message schema).
  const type = (body.type ?? 'text') as string;
  if (!(MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw graphErrors.invalidParam(`Param type must be one of {${MESSAGE_TYPES.join(', ').toUpperCase()}} - got "${type}".`);
  }
  checkPayload(type as MessageType, body);
  if (body.biz_opaque_callback_data !== undefined) {
    // Echoed in the message's status webhooks; Cloud API does not process it (OAS: string, maxLength 512).
    if (typeof body.biz_opaque_callback_data !== 'string') throw graphErrors.invalidParam('Param biz_opaque_callback_data must be a string.');
    maxLen(body.biz_opaque_callback_data, 512, 'biz_opaque_callback_data');
  }
  let replyTo: string | undefined;
  if (body.context !== undefined) {
    if (!isObject(body.context) || !str(body.context.message_id)) throw graphErrors.required("context['message_id']");
    replyTo = str(body.context.message_id);
  }
  return { kind: 'message', to, recipient, type: type as MessageType, replyTo };
}
