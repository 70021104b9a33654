/**
 * Messenger and Instagram webhook payloads for tests: Meta's documented examples from ../shared/reference/meta/
 * (some are .jsonc — comments, trailing commas and `\u{…}` escapes — and some are a bare `messaging[]` item or a
 * bare entry), made into whole deliveries with real-looking ids; and builders for payloads of our own.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ACCOUNT_ID, ADMIN_KEY, CHATWOOT_TOKEN, testTenant } from './harness';
import { asMessagingDelivery, parseJsonc } from './jsonc';

export const META_DIR = path.resolve(__dirname, '../../../shared/reference/meta');

export type Json = Record<string, any>;

/** Every Messenger and Instagram webhook payload Meta (or Chatwoot's test suite) documents. */
export function messagingFixtureNames(): string[] {
  return readdirSync(META_DIR).filter((f) => /^(messenger|instagram)-webhook-.*\.jsonc?$/.test(f)).sort();
}

export function readFixture(name: string): Json {
  return parseJsonc(readFileSync(path.join(META_DIR, name), 'utf8')) as Json;
}

/** A fixture as a whole delivery: a bare messaging item or a bare entry is wrapped; `object` is set. */
export function asDelivery(fixture: Json, object: 'page' | 'instagram'): Json {
  return asMessagingDelivery(fixture, object, { pageId: '<PAGE_ID>', time: Date.now() });
}

export function objectOf(name: string): 'page' | 'instagram' {
  return name.startsWith('instagram') ? 'instagram' : 'page';
}

/**
 * Meta's placeholders (and Chatwoot's test ids) replaced by real-looking values: every string equal to a key
 * becomes its value, and every entry gets the business id.
 */
export function fill(body: Json, values: Record<string, string | number>, businessId: string): Json {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return Object.prototype.hasOwnProperty.call(values, v) ? values[v] : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(body) as Json;
  for (const entry of out.entry ?? []) entry.id = businessId;
  return out;
}

export function newMid(): string {
  return `m_${randomBytes(18).toString('base64url')}`;
}

export function newScopedId(): string {
  return `${24}${String(Math.floor(Math.random() * 1e15)).padStart(15, '0')}`;
}

/** A whole delivery of our own: one entry per item list. */
export function messagingDelivery(object: 'page' | 'instagram', businessId: string, items: Json[]): Json {
  return { object, entry: [{ id: businessId, time: Date.now(), messaging: items }] };
}

/** A customer's text message. */
export function customerText(businessId: string, customerId: string, text: string, opts: { mid?: string; timestamp?: number; replyTo?: string } = {}): Json {
  return {
    sender: { id: customerId }, recipient: { id: businessId }, timestamp: opts.timestamp ?? Date.now(),
    message: { mid: opts.mid ?? newMid(), text, ...(opts.replyTo ? { reply_to: { mid: opts.replyTo } } : {}) },
  };
}

/** The business's own message as Meta echoes it (`app_id` of whoever sent it). */
export function echoText(businessId: string, customerId: string, mid: string, text: string, opts: { appId?: number; timestamp?: number; metadata?: string } = {}): Json {
  return {
    sender: { id: businessId }, recipient: { id: customerId }, timestamp: opts.timestamp ?? Date.now(),
    message: { is_echo: true, app_id: opts.appId ?? 263902037430900, mid, text, ...(opts.metadata ? { metadata: opts.metadata } : {}) },
  };
}

export interface MessagingConnection {
  channel: 'messenger' | 'instagram';
  businessId: string;
  token: string;
  options?: { humanAgentTag?: boolean; tokenKind?: 'page' | 'instagram_login' };
  webhookSecret?: string;
}

/** POST /admin/connections for a Messenger or Instagram connection; returns its id. */
export async function createMessagingConnection(baseUrl: string, chatwootUrl: string, inboxId: number, c: MessagingConnection): Promise<string> {
  const res = await fetch(`${baseUrl}/admin/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      tenantId: await testTenant(baseUrl),
      name: `Test ${c.channel}`,
      channel: c.channel,
      businessId: c.businessId,
      metaAccessToken: c.token,
      ...(c.options ? { options: c.options } : {}),
      platform: { kind: 'chatwoot', baseUrl: chatwootUrl, accountId: ACCOUNT_ID, inboxId, apiAccessToken: CHATWOOT_TOKEN, ...(c.webhookSecret ? { webhookSecret: c.webhookSecret } : {}) },
    }),
  });
  if (res.status !== 201) throw new Error(`creating the ${c.channel} connection answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
