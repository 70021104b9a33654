/**
 * Everything the bridge stores, where, for how long and how it goes: the source of PRIVACY.md's table
 * (`npm run privacy:table`). Retention that an operator sets names its setting, so the table shows the setting's
 * default and maximum straight from the joi schema; test/unit/privacy-doc.test.ts fails when a setting, a
 * collection or this list changes and PRIVACY.md does not.
 */

export type Retention =
  /** A setting in src/config.ts (RETENTION_*_DAYS, or another bound such as ADMIN_AUTH_WINDOW_S). */
  | { setting: string; after?: string }
  | { fixed: string }
  | { until: string };

export interface StoredData {
  store: 'MongoDB' | 'Redis' | 'memory';
  /** Collection, or key pattern. */
  name: string;
  holds: string;
  /** What in it is about people, and how it is protected. */
  people: string;
  retention: Retention;
  /** How it is deleted before it expires. */
  deletedBy: string;
}

const ERASED = 'connection or tenant deleted; end-user erasure';

export const STORED_DATA: readonly StoredData[] = [
  {
    store: 'MongoDB', name: 'connections',
    holds: "one Meta number/Page/account wired to one platform inbox: ids, platform URL, account and inbox ids, health, and what Meta says of the token (kind, expiry, scopes, the WABA/Page ids it is granted for, last check; never the Facebook user's id)",
    people: "Meta and platform tokens, Fernet-encrypted; the app-scoped id of the Facebook user who granted the Meta token (connection page only: Facebook Login, or Embedded Signup with a verified signedRequest), in clear",
    retention: { until: 'deleted' },
    deletedBy: 'DELETE /admin/connections/:id; tenant deleted. Deauthorize callback: token deleted. Data deletion callback: token and user id deleted. WhatsApp account_update PARTNER_APP_UNINSTALLED / PARTNER_REMOVED: token deleted. A new token from the connection page: the user id replaced or removed',
  },
  {
    store: 'MongoDB', name: 'tenants',
    holds: 'name, SHA-256 of the tenant API key (the key itself is shown once)',
    people: 'none', retention: { until: 'deleted' }, deletedBy: 'DELETE /admin/tenants/:id',
  },
  {
    store: 'MongoDB', name: 'privacy_settings',
    holds: "a tenant's choice: erase platform contacts with end users", people: 'none',
    retention: { until: 'the tenant is deleted' }, deletedBy: 'tenant deleted',
  },
  {
    store: 'MongoDB', name: 'inbound_keys',
    holds: '`<connection>:<Meta message id>` claimed/done: each message is forwarded once',
    people: "Meta message ids only (a WhatsApp wamid encodes the customer's number)",
    retention: { setting: 'RETENTION_IDEMPOTENCY_DAYS' }, deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'delivery_records',
    holds: 'Meta message id ↔ platform conversation and message ids, status, failure reason; never message text',
    people: 'the customer as a salted SHA-256 (connection id as salt: pseudonymous, not anonymous)',
    retention: { setting: 'RETENTION_DELIVERY_RECORD_DAYS' }, deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'platform_messages',
    holds: 'platform message id → the Meta messages it went out as', people: 'Meta message ids only',
    retention: { setting: 'RETENTION_DELIVERY_RECORD_DAYS' }, deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'conversation_state',
    holds: "when the customer last wrote (the reply window) and that message's Meta id; keyed by a hash",
    people: 'a timestamp and a Meta message id',
    retention: { setting: 'RETENTION_DELIVERY_RECORD_DAYS', after: "after the customer's last message" }, deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'held_statuses',
    holds: 'a delivery status that arrived before its send was recorded', people: 'a Meta message id; the customer as a salted SHA-256',
    retention: { fixed: '24 hours' }, deletedBy: `applied as soon as the send is recorded; ${ERASED}`,
  },
  {
    store: 'MongoDB', name: 'contact_links',
    holds: 'customer → platform contact and conversation ids (one warm lookup instead of several platform calls)',
    people: 'the customer id as a salted SHA-256',
    retention: { setting: 'RETENTION_CUSTOMER_MAPPING_DAYS', after: "after the customer's last message" },
    deletedBy: `a conversation the platform closed drops its link; ${ERASED}`,
  },
  {
    store: 'MongoDB', name: 'conversation_recipients',
    holds: "generic platforms: whom a conversation's replies go to", people: "the customer's id and phone number, Fernet-encrypted",
    retention: { setting: 'RETENTION_CUSTOMER_MAPPING_DAYS', after: "after the conversation's last message (the customer's, or an agent's reply)" },
    deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'profile_fetches',
    holds: "Messenger/Instagram: whether the customer's name and picture were fetched (they go to the platform, not here)",
    people: 'the customer id as a salted SHA-256', retention: { fixed: '90 days' }, deletedBy: ERASED,
  },
  {
    store: 'MongoDB', name: 'dead_letters',
    holds: 'work the bridge gave up on: ids, reason and attempts in clear, the work itself kept for an admin to replay',
    people: 'message text and customer ids, Fernet-encrypted',
    retention: { setting: 'RETENTION_DEAD_LETTER_DAYS' }, deletedBy: `replayed or discarded by an admin; ${ERASED}`,
  },
  {
    store: 'MongoDB', name: 'audit_events',
    holds: 'who (super-admin, tenant:<id>, cli, meta) did what to which object, when, with counts and outcomes',
    people: 'no content, no customer ids, no Facebook user ids, never a key',
    retention: { setting: 'RETENTION_AUDIT_DAYS' }, deletedBy: "tenant deleted (the deletion itself stays, bridge-wide)",
  },
  {
    store: 'MongoDB', name: 'deletion_requests',
    holds: 'Meta data deletion requests: confirmation code, state, counts (the status page)', people: "none: not even the requester's id",
    retention: { setting: 'RETENTION_DELETION_STATUS_DAYS' }, deletedBy: 'expiry only',
  },
  {
    store: 'MongoDB', name: 'chatwoot_installations',
    holds: "the Chatwoot connector per tenant and account: base URL, account id", people: "the account administrator's Chatwoot token, Fernet-encrypted",
    retention: { until: 'uninstalled or the tenant is deleted' }, deletedBy: 'uninstall; tenant deleted',
  },
  {
    store: 'MongoDB', name: 'chatwoot_inboxes',
    holds: "which Chatwoot inbox serves which connection, the inbox's public identifier", people: 'none',
    retention: { until: 'the connection is deleted' }, deletedBy: 'connection or tenant deleted; uninstall',
  },
  {
    store: 'Redis', name: '`<prefix>:lane:<connection>:…` (q, e, a, gen)',
    holds: "per-customer and per-conversation lanes: the events and agent replies waiting, in order",
    people: 'message text, customer ids and names, Fernet-encrypted; lane names hash the customer id (unsalted: pseudonymous)',
    retention: { until: 'forwarded (seconds), or dead-lettered after QUEUE_ATTEMPTS; the generation counter expires 8 days after the last message' },
    deletedBy: ERASED,
  },
  {
    store: 'Redis', name: '`<prefix>:lanes:…` (Bull)', holds: "one drain job per lane with work: the lane's name", people: 'the lane name (a hash)',
    retention: { until: 'the lane is drained' }, deletedBy: ERASED,
  },
  {
    store: 'Redis', name: '`<prefix>:seen-delivery:<id>`', holds: 'Chatwoot delivery ids already accepted (webhook dedupe)', people: 'none',
    retention: { fixed: '24 hours' }, deletedBy: 'expiry only',
  },
  {
    store: 'Redis', name: '`<prefix>:send-attempt:…`, `<prefix>:send-echo:…`',
    holds: "WhatsApp sends that got no answer (when tried), and Meta's id for them once a status named them (src/queue/send-ledger.ts)",
    people: 'none (connection id, a hashed send tag, a Meta message id)',
    retention: { until: 'the send is recorded (milliseconds), else RETENTION_DELIVERY_RECORD_DAYS' }, deletedBy: 'expiry only',
  },
  {
    store: 'Redis', name: '`<prefix>:pace:…`', holds: 'sends per second per business number (rate limit)', people: 'none',
    retention: { fixed: 'seconds' }, deletedBy: 'expiry only',
  },
  {
    store: 'Redis', name: '`<prefix>:admin-auth-failures:<address>`', holds: 'failed admin API keys per client address', people: "the client's IP address",
    retention: { setting: 'ADMIN_AUTH_WINDOW_S' }, deletedBy: 'expiry only',
  },
  {
    store: 'Redis', name: '`<prefix>:token-sweep`', holds: 'which process renews Meta tokens right now (a lock)', people: 'none',
    retention: { fixed: 'while the renewal runs' }, deletedBy: 'expiry only',
  },
  {
    store: 'memory', name: 'caches (each process)', holds: 'connections by id and business id; contact links',
    people: 'decrypted tokens (connections); hashed customer keys (links)',
    retention: { fixed: '30 s (connections); contact links until evicted (50,000 per process) or expired, checked against MongoDB at least daily while used' }, deletedBy: 'process restart; erasure evicts in the process that erases',
  },
];
