/**
 * Erasing an end user's Chatwoot contact, when the tenant asked for platform contacts to go with an erasure.
 *
 * Which contact: the ids the bridge kept for the customer, else Chatwoot's own index of this inbox
 * (contact_inboxes/filter by every id the customer is known by). Only contacts of this connection's inbox are
 * touched: a contact found by phone number elsewhere in the account may be another channel's business.
 *
 * How: DELETE …/contacts/{id}, which removes the contact with its conversations and messages. Chatwoot lets only
 * account administrators delete contacts; with an agent token (401/403) the contact is anonymised instead — name,
 * phone, e-mail, identifier and picture cleared — and the note says the conversations are still there.
 */
import type { ContactErasure, ErasedCustomer } from '../platform';
import { ChatwootNotFound, type ChatwootClient } from './client';
import { PermanentError } from '../../core/errors';

export const ERASED_CONTACT_NAME = 'Erased contact';

async function contactsOf(client: ChatwootClient, inboxId: number, customer: ErasedCustomer): Promise<number[]> {
  const found = new Set(customer.contactIds.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0));
  for (const sourceId of customer.ids) {
    try {
      const contact = await client.post<{ id?: number; payload?: { id?: number } }>('/contact_inboxes/filter', { inbox_id: inboxId, source_id: sourceId });
      const id = contact.id ?? contact.payload?.id;
      if (id) found.add(id);
    } catch (err) {
      if (!(err instanceof ChatwootNotFound)) throw err;
    }
  }
  return [...found];
}

function notAllowed(err: unknown): boolean {
  return err instanceof PermanentError && (err.code === 401 || err.code === 403);
}

export async function eraseChatwootContact(client: ChatwootClient, inboxId: number, customer: ErasedCustomer): Promise<ContactErasure> {
  const contactIds = await contactsOf(client, inboxId, customer);
  let deleted = 0;
  let anonymised = 0;
  for (const id of contactIds) {
    try {
      await client.request('delete', `/contacts/${id}`);
      deleted += 1;
    } catch (err) {
      if (err instanceof ChatwootNotFound) continue;
      if (!notAllowed(err)) throw err;
      try {
        await client.patch(`/contacts/${id}`, {
          name: ERASED_CONTACT_NAME, email: null, phone_number: null, identifier: null, avatar_url: null,
          additional_attributes: { social_profiles: null },
        });
        anonymised += 1;
      } catch (patchErr) {
        if (!(patchErr instanceof ChatwootNotFound)) throw patchErr;
      }
    }
  }
  if (anonymised > 0) {
    return {
      outcome: 'anonymised',
      note: `${anonymised} Chatwoot contact(s) anonymised, not deleted: the connection's Chatwoot token may not delete contacts (only account administrators may), so their conversations and messages are still in Chatwoot. Delete them there, or give the connection an administrator's token and erase again.`,
    };
  }
  return deleted > 0 ? { outcome: 'deleted' } : { outcome: 'not_found' };
}
