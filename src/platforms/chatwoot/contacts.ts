/**
 * Finding the Chatwoot contact and conversation for a customer, exactly (no substring search):
 *   1. contact_inboxes/filter by source_id, for every id we know the customer by (wa_id, BSUID);
 *   2. contacts/filter by E.164 phone, then by our BSUID identifier; attach a contact_inbox for this inbox;
 *   3. otherwise create the contact with inbox_id + source_id.
 * Customers who reach a business with only a business-scoped user id (Meta's 2026 change) get a stable
 * identifier, so they stay one contact when a phone number shows up later.
 * Conversations follow Chatwoot's own WhatsApp channel: the contact's latest unresolved conversation in this
 * inbox, else a new one.
 */
import type { ChannelKind, CustomerRef } from '../../core/events';
import { ChatwootNotFound, type ChatwootClient } from './client';
import { PermanentError } from '../../core/errors';

interface ContactJson {
  id: number;
}

interface ConversationJson {
  id: number;
  inbox_id: number;
  status: string;
}

const E164 = /^\+[1-9]\d{1,14}$/;

/** Every id the customer is known by, most specific first. */
export function customerIds(customer: CustomerRef): string[] {
  return [...new Set([customer.id, customer.bsuid].filter((v): v is string => Boolean(v)))];
}

export function bsuidIdentifier(bsuid: string): string {
  return `whatsapp_bsuid:${bsuid}`;
}

function e164(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  const candidate = `+${phone.replace(/\D/g, '')}`;
  return E164.test(candidate) ? candidate : undefined;
}

function filterBy(key: 'phone_number' | 'identifier', value: string): unknown {
  return { payload: [{ attribute_key: key, filter_operator: 'equal_to', values: [value], query_operator: null }] };
}

/**
 * Name, picture and username as Chatwoot keeps them (PATCH merges additional_attributes). The username goes under
 * the channel's social profile (Instagram's is a real handle; WhatsApp's is its 2026 username).
 */
export function contactProfile(customer: CustomerRef, channel: ChannelKind): Record<string, unknown> {
  const profile: Record<string, unknown> = {};
  if (customer.name || customer.username) profile.name = customer.name || customer.username;
  if (customer.avatarUrl) profile.avatar_url = customer.avatarUrl;
  if (customer.username && channel !== 'messenger') profile.additional_attributes = { social_profiles: { [channel]: customer.username } };
  return profile;
}

export async function findOrCreateContact(client: ChatwootClient, inboxId: number, customer: CustomerRef, channel: ChannelKind = 'whatsapp'): Promise<{ contactId: number; sourceId: string }> {
  for (const sourceId of customerIds(customer)) {
    try {
      const contact = await client.post<ContactJson & { payload?: ContactJson }>('/contact_inboxes/filter', { inbox_id: inboxId, source_id: sourceId });
      const id = contact.id ?? contact.payload?.id;
      if (id) return { contactId: id, sourceId };
    } catch (err) {
      if (!(err instanceof ChatwootNotFound)) throw err;
    }
  }

  const phone = e164(customer.phone);
  const searches: Array<['phone_number' | 'identifier', string]> = [];
  if (phone) searches.push(['phone_number', phone]);
  if (customer.bsuid) searches.push(['identifier', bsuidIdentifier(customer.bsuid)]);
  for (const [key, value] of searches) {
    const found = await filterContacts(client, key, value);
    if (found) {
      await client.post(`/contacts/${found.id}/contact_inboxes`, { inbox_id: inboxId, source_id: customer.id });
      return { contactId: found.id, sourceId: customer.id };
    }
  }

  const created = await client.post<{ payload: { contact: ContactJson } }>('/contacts', {
    inbox_id: inboxId,
    source_id: customer.id,
    ...contactProfile(customer, channel),
    name: customer.name || customer.username || (phone ?? customer.id),
    phone_number: phone,
    identifier: customer.bsuid ? bsuidIdentifier(customer.bsuid) : undefined,
  });
  const contactId = created.payload?.contact?.id;
  if (!contactId) throw new PermanentError('Chatwoot created a contact but returned no id');
  // Remember the BSUID as a second channel id too, as Chatwoot's own WhatsApp channel does.
  if (customer.bsuid && customer.bsuid !== customer.id) {
    await client.post(`/contacts/${contactId}/contact_inboxes`, { inbox_id: inboxId, source_id: customer.bsuid });
  }
  return { contactId, sourceId: customer.id };
}

async function filterContacts(client: ChatwootClient, key: 'phone_number' | 'identifier', value: string): Promise<ContactJson | undefined> {
  try {
    const res = await client.post<{ payload?: ContactJson[] }>('/contacts/filter', filterBy(key, value));
    return res.payload?.[0];
  } catch (err) {
    if (err instanceof ChatwootNotFound) return undefined;
    throw err;
  }
}

export async function findOrCreateConversation(client: ChatwootClient, inboxId: number, contactId: number, sourceId: string): Promise<number> {
  const res = await client.get<{ payload?: ConversationJson[] }>(`/contacts/${contactId}/conversations`);
  const open = (res.payload ?? []).find((c) => c.inbox_id === inboxId && c.status !== 'resolved');
  if (open) return open.id;
  const created = await client.post<ConversationJson>('/conversations', { inbox_id: inboxId, contact_id: contactId, source_id: sourceId });
  return created.id;
}
