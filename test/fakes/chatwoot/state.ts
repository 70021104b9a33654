/**
 * The fake Chatwoot's memory: accounts, tokens, inboxes, contacts and contact_inboxes, plus the lookups every
 * route needs. Contact rules follow chatwoot-api-notes §2.2–2.3 (E.164 regex, per-account uniqueness,
 * ContactInboxBuilder: first_or_create, random UUID source_id for API inboxes, RecordNotUnique re-raised).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CwError, cwErrors, isObject, railsInt,
  type Account, type AccountRole, type Contact, type ContactInbox, type Conversation, type Inbox, type Json, type Message, type User,
} from './model';

export type DomainEvent =
  | { event: 'message_created' | 'message_updated'; messageId: number }
  | { event: 'conversation_created' | 'conversation_status_changed'; conversationId: number }
  | { event: 'conversation_updated'; conversationId: number; changed: Json };

/**
 * Contact#phone_number format, as the notes quote it: /\+[1-9]\d{1,14}\z/ (Ruby \z = end of string, JS $ without
 * the m flag). Not anchored at the start, so "abc+14155550100" passes. One fork's analysis quotes an anchored
 * /\A\+[1-9]\d{1,14}\z/; which one v4.15.1 has is UNCONFIRMED. The bridge must send strict E.164 either way.
 */
export const E164 = /\+[1-9]\d{1,14}$/;
/** Devise.email_regexp. */
const EMAIL = /^[^@\s]+@[^@\s]+$/;

export function pubsubToken(): string {
  return randomBytes(18).toString('base64url').slice(0, 24);
}

export class ChatwootState {
  readonly accounts = new Map<number, Account>();
  readonly tokens = new Map<string, { user: User; accounts: Set<number>; roles?: Map<number, AccountRole> }>();
  /** The agent who types in the dashboard (createAgentReply), one per account. */
  readonly agents = new Map<number, User>();
  readonly inboxes = new Map<number, Inbox>();
  readonly contacts = new Map<number, Contact>();
  readonly contactInboxes = new Map<number, ContactInbox>();
  readonly conversations = new Map<number, Conversation>();
  readonly messages = new Map<number, Message>();
  private readonly seq: Record<'user' | 'inbox' | 'contact' | 'contactInbox' | 'conversation' | 'message' | 'attachment', number> = { user: 0, inbox: 0, contact: 0, contactInbox: 0, conversation: 0, message: 0, attachment: 0 };
  private readonly displaySeq = new Map<number, number>();
  private buffer: DomainEvent[] | null = null;
  onEvent: (e: DomainEvent) => void = () => undefined;

  constructor(readonly floodLimit: number) {}

  next(kind: keyof ChatwootState['seq']): number {
    this.seq[kind] += 1;
    return this.seq[kind];
  }

  nextDisplayId(accountId: number): number {
    const n = (this.displaySeq.get(accountId) ?? 0) + 1;
    this.displaySeq.set(accountId, n);
    return n;
  }

  /** Events raised inside fn are handed back (delivered after the HTTP response); outside, they go out at once. */
  collect<T>(fn: () => T): { result: T; events: DomainEvent[] } {
    const outer = this.buffer;
    const events: DomainEvent[] = [];
    this.buffer = events;
    try {
      return { result: fn(), events };
    } finally {
      this.buffer = outer;
    }
  }

  emit(e: DomainEvent): void {
    if (this.buffer) this.buffer.push(e);
    else this.onEvent(e);
  }

  /** Forget contacts, conversations and messages; accounts, tokens and inboxes stay. */
  resetData(): void {
    this.contacts.clear();
    this.contactInboxes.clear();
    this.conversations.clear();
    this.messages.clear();
    this.displaySeq.clear();
  }

  // ── accounts, users, inboxes ────────────────────────────────────────────────

  addAccount(id: number, token: string, name?: string, role: AccountRole = 'administrator'): void {
    if (!this.accounts.has(id)) this.accounts.set(id, { id, name: name ?? `Account ${id}` });
    const grant = this.tokens.get(token) ?? { user: this.newUser('API User', `api-user-${this.seq.user + 1}@fake.chatwoot.test`), accounts: new Set<number>() };
    grant.accounts.add(id);
    (grant.roles ??= new Map()).set(id, role);
    this.tokens.set(token, grant);
  }

  roleOf(token: string, accountId: number): AccountRole {
    return this.tokens.get(token)?.roles?.get(accountId) ?? 'administrator';
  }

  newUser(name: string, email: string): User {
    return { id: this.next('user'), name, email };
  }

  agentFor(accountId: number): User {
    let agent = this.agents.get(accountId);
    if (!agent) {
      agent = this.newUser('Jane Agent', `jane.agent+${accountId}@fake.chatwoot.test`);
      this.agents.set(accountId, agent);
    }
    return agent;
  }

  addInbox(accountId: number, o: { id?: number; name?: string; webhookUrl?: string; secret?: string | null }): Inbox {
    if (!this.accounts.has(accountId)) throw new Error(`fake Chatwoot: add account ${accountId} before its inboxes`);
    const id = o.id ?? Math.max(this.next('inbox'), ...[...this.inboxes.keys()].map((k) => k + 1));
    if (this.inboxes.has(id)) throw new Error(`fake Chatwoot: inbox ${id} exists`);
    const inbox: Inbox = {
      id, accountId, channelId: id, name: o.name ?? `API inbox ${id}`, webhookUrl: o.webhookUrl,
      // Chatwoot >= 4.13 generates a secret for every API inbox (WebhookSecretable); null mimics an older one.
      secret: o.secret === undefined ? randomBytes(18).toString('base64url') : o.secret,
      identifier: randomBytes(18).toString('base64url').slice(0, 24),
    };
    this.inboxes.set(id, inbox);
    return inbox;
  }

  // ── lookups scoped to the account in the URL (Current.account.<relation>.find → 404) ──

  inboxOf(accountId: number, idParam: unknown): Inbox {
    const inbox = this.inboxes.get(railsInt(idParam) ?? NaN);
    if (!inbox || inbox.accountId !== accountId) throw cwErrors.notFound();
    return inbox;
  }

  contactOf(accountId: number, idParam: unknown): Contact {
    const contact = this.contacts.get(railsInt(idParam) ?? NaN);
    if (!contact || contact.accountId !== accountId) throw cwErrors.notFound();
    return contact;
  }

  conversationOf(accountId: number, displayIdParam: unknown): Conversation {
    const displayId = railsInt(displayIdParam);
    const conv = [...this.conversations.values()].find((c) => c.accountId === accountId && c.displayId === displayId);
    if (!conv) throw cwErrors.notFound();
    return conv;
  }

  messagesOf(conv: Conversation): Message[] {
    return [...this.messages.values()].filter((m) => m.conversationId === conv.id).sort((a, b) => a.id - b.id);
  }

  contactInboxesOf(contactId: number): ContactInbox[] {
    return [...this.contactInboxes.values()].filter((ci) => ci.contactId === contactId);
  }

  // ── contacts ───────────────────────────────────────────────────────────────

  /**
   * ContactsController#destroy: the contact goes with its contact_inboxes, conversations and their messages
   * (Contact has_many … dependent: :destroy_async; done at once here).
   */
  deleteContact(contact: Contact): void {
    for (const ci of this.contactInboxesOf(contact.id)) this.contactInboxes.delete(ci.id);
    for (const conv of [...this.conversations.values()].filter((c) => c.contactId === contact.id)) {
      for (const m of this.messagesOf(conv)) this.messages.delete(m.id);
      this.conversations.delete(conv.id);
    }
    this.contacts.delete(contact.id);
  }

  /** Contact validations in model order: email, identifier, phone_number. */
  validateContact(accountId: number, c: Pick<Contact, 'email' | 'identifier' | 'phoneNumber'>, selfId?: number): void {
    const others = [...this.contacts.values()].filter((o) => o.accountId === accountId && o.id !== selfId);
    const errors: Array<[string, string]> = [];
    if (c.email) {
      if (others.some((o) => o.email?.toLowerCase() === c.email!.toLowerCase())) errors.push(['email', 'Email has already been taken']);
      // errors.contacts.email.invalid = "Invalid email" (UNCONFIRMED wording).
      if (!EMAIL.test(c.email)) errors.push(['email', 'Email Invalid email']);
    }
    if (c.identifier && others.some((o) => o.identifier === c.identifier)) errors.push(['identifier', 'Identifier has already been taken']);
    if (c.phoneNumber) {
      if (others.some((o) => o.phoneNumber === c.phoneNumber)) errors.push(['phone_number', 'Phone number has already been taken']);
      if (!E164.test(c.phoneNumber)) errors.push(['phone_number', 'Phone number should be in e164 format']);
    }
    if (errors.length) throw cwErrors.recordInvalid(errors);
  }

  /** POST /contacts: the contact and, with inbox_id, its contact_inbox, in one transaction. */
  createContact(accountId: number, p: Json): { contact: Contact; contactInbox: ContactInbox | null } {
    const text = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
    const contact: Contact = {
      id: 0, accountId, name: text(p.name) ?? '', email: text(p.email)?.toLowerCase() ?? null, phoneNumber: text(p.phone_number),
      identifier: text(p.identifier), additionalAttributes: isObject(p.additional_attributes) ? p.additional_attributes : {},
      customAttributes: isObject(p.custom_attributes) ? p.custom_attributes : {}, blocked: p.blocked === true || p.blocked === 'true',
      // avatar_url is fetched later by Chatwoot (Avatar::AvatarFromUrlJob); the fake keeps the URL it was given.
      avatarUrl: text(p.avatar_url), createdAt: Date.now(), lastActivityAt: null,
    };
    this.validateContact(accountId, contact);
    const inbox = p.inbox_id === undefined || p.inbox_id === null || p.inbox_id === '' ? undefined : this.inboxOf(accountId, p.inbox_id);
    contact.id = this.next('contact');
    this.contacts.set(contact.id, contact);
    try {
      return { contact, contactInbox: inbox ? this.buildContactInbox(contact, inbox, p.source_id) : null };
    } catch (err) {
      this.contacts.delete(contact.id); // the transaction rolls back
      throw err;
    }
  }

  /**
   * PATCH/PUT /contacts/:id (ContactsController#update): the given fields change; additional_attributes and
   * custom_attributes are merged into what the contact has (contact_update_params), validations run again.
   */
  updateContact(contact: Contact, p: Json): void {
    const next: Contact = { ...contact };
    if (p.name !== undefined) next.name = p.name === null ? '' : String(p.name);
    if (p.email !== undefined) next.email = p.email === null ? null : String(p.email).toLowerCase();
    if (p.phone_number !== undefined) next.phoneNumber = p.phone_number === null ? null : String(p.phone_number);
    if (p.identifier !== undefined) next.identifier = p.identifier === null ? null : String(p.identifier);
    if (p.avatar_url !== undefined) next.avatarUrl = p.avatar_url === null ? null : String(p.avatar_url);
    if (isObject(p.additional_attributes)) next.additionalAttributes = { ...contact.additionalAttributes, ...p.additional_attributes };
    if (isObject(p.custom_attributes)) next.customAttributes = { ...contact.customAttributes, ...p.custom_attributes };
    this.validateContact(contact.accountId, next, contact.id);
    Object.assign(contact, next);
  }

  /**
   * ContactInboxBuilder: first_or_create on (contact, inbox, source_id); an API inbox without a source_id gets a
   * random UUID. A source_id that already belongs to another contact in this inbox hits the unique index
   * (inbox_id, source_id), which API inboxes re-raise (RecordNotUnique → caller decides: 500, or 422 on conversations).
   */
  buildContactInbox(contact: Contact, inbox: Inbox, sourceIdParam: unknown): ContactInbox {
    const sourceId = sourceIdParam === undefined || sourceIdParam === null || String(sourceIdParam).trim() === '' ? randomUUID() : String(sourceIdParam);
    const existing = [...this.contactInboxes.values()].find((ci) => ci.inboxId === inbox.id && ci.sourceId === sourceId);
    if (existing && existing.contactId === contact.id) return existing;
    if (existing) throw new RecordNotUnique();
    const now = Date.now();
    const ci: ContactInbox = { id: this.next('contactInbox'), contactId: contact.id, inboxId: inbox.id, sourceId, hmacVerified: false, pubsubToken: pubsubToken(), createdAt: now, updatedAt: now };
    this.contactInboxes.set(ci.id, ci);
    return ci;
  }
}

export class RecordNotUnique extends CwError {
  constructor() {
    super(500, { status: 500, error: 'Internal Server Error' });
  }
}
