/**
 * The Chatwoot connector install, against the real bridge and the Chatwoot fake over HTTP: one admin call makes
 * the connection's own API inbox (webhook_url = the connection's URL), stores inbox id, identifier and the
 * signing secret (sealed), sets the reply window; a re-run changes nothing but the token; uninstall clears the
 * webhooks and erases every stored secret. Messages then really flow through the new inbox both ways, which is
 * what proves the stored secret is the inbox's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, META_TOKEN, PHONE_NUMBER_ID, createTenant, eventually, startHarness, type Harness } from '../support/harness';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { runCli } from '../support/cli';
import { freePort } from '../support/processes';

type Json = Record<string, any>;

const CW_ADMIN = 'cw-admin-token-0123456789abcdef';
const CW_AGENT = 'cw-agent-only-token-0123456789';

describe('Chatwoot connector install', () => {
  let h: Harness;
  let db: mongoose.Connection;
  let numberSeq = 0;

  before(async () => {
    // The inboxes' webhook URLs are built from PUBLIC_URL, so it must be where this bridge really listens.
    const port = await freePort();
    h = await startHarness({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    h.chatwoot.addAccount({ id: ACCOUNT_ID, token: CW_ADMIN, role: 'administrator' });
    h.chatwoot.addAccount({ id: ACCOUNT_ID, token: CW_AGENT, role: 'agent' });
    db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
  });
  after(async () => {
    await db?.close();
    await h?.stop();
  });

  async function admin(method: string, path: string, body?: unknown, key = ADMIN_KEY): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${h.baseUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Json : {} };
  }

  /** A tenant with one WhatsApp connection on a hand-made inbox, as before the connector existed. */
  async function tenantWithConnection(name: string): Promise<{ tenantId: string; apiKey: string; connectionId: string; phoneNumberId: string }> {
    const tenant = await createTenant(h.baseUrl, name);
    numberSeq += 1;
    const phoneNumberId = `10654035224${String(numberSeq).padStart(4, '0')}`;
    phoneIds.push(phoneNumberId);
    h.graph.addToken(META_TOKEN, { phoneNumberIds: phoneIds });
    const manual = h.chatwoot.addInbox(ACCOUNT_ID, { name: `Manual ${name}` });
    const created = await admin('POST', '/connections', {
      tenantId: tenant.id, name: `${name} number`, channel: 'whatsapp', businessId: phoneNumberId, wabaId: '102290129340398', metaAccessToken: META_TOKEN,
      platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: manual.id, apiAccessToken: CW_AGENT },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return { tenantId: tenant.id, apiKey: tenant.apiKey, connectionId: created.json.id, phoneNumberId };
  }
  /** The numbers the test Meta token may send for (the harness's own first). */
  const phoneIds = [PHONE_NUMBER_ID];

  const install = (body: Json, key = ADMIN_KEY) => admin('POST', '/chatwoot/install', { baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, adminToken: CW_ADMIN, ...body }, key);
  const fakeInbox = (id: number) => h.chatwoot.updateInbox(ACCOUNT_ID, id, {});
  async function countInboxes(): Promise<number> {
    const res = await fetch(`${h.chatwoot.url}/api/v1/accounts/${ACCOUNT_ID}/inboxes`, { headers: { api_access_token: CW_ADMIN } });
    return ((await res.json()) as { payload: unknown[] }).payload.length;
  }

  test('when the connector is installed for a connection, then its own inbox is made, pointed at it, and the secret is stored sealed', async () => {
    const t = await tenantWithConnection('Acme');
    const res = await install({ connectionId: t.connectionId, inboxName: 'Acme WhatsApp' }, t.apiKey);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const inbox = fakeInbox(res.json.inbox.inboxId);
    assert.equal(inbox.name, 'Acme WhatsApp');
    assert.equal(inbox.webhookUrl, `${h.baseUrl}/webhooks/chatwoot/${t.connectionId}`, 'the webhook names the connection, signed form');
    assert.deepEqual(inbox.additionalAttributes?.agent_reply_time_window, 24, 'the reply window is set');
    assert.equal(res.json.inbox.identifier, inbox.identifier);
    assert.equal(res.json.inbox.signed, true);
    assert.equal(res.json.installation.tenantId, t.tenantId);
    assert.deepEqual(res.json.installation.inboxes, [{ connectionId: t.connectionId, inboxId: inbox.id, identifier: inbox.identifier }]);
    assert.ok(!JSON.stringify(res.json).includes(CW_ADMIN) && !JSON.stringify(res.json).includes(inbox.secret!), 'no secret comes back');

    const conn = await admin('GET', `/connections/${t.connectionId}`, undefined, t.apiKey);
    assert.equal(conn.json.platform.inboxId, inbox.id);
    assert.equal(conn.json.platform.hasWebhookSecret, true);

    // At rest: the admin token and the inbox secret exist only as ciphertext with a key id.
    const stored = await db.collection('connections').findOne({ _id: t.connectionId as never });
    const installation = await db.collection('chatwoot_installations').findOne({ _id: res.json.installation.id });
    assert.match(String(stored?.platform?.webhookSecret?.kid), /^[0-9a-f]{8}$/);
    assert.match(String(installation?.adminToken?.kid), /^[0-9a-f]{8}$/);
    const dump = JSON.stringify([stored, installation, await db.collection('chatwoot_inboxes').findOne({ _id: t.connectionId as never })]);
    for (const secret of [CW_ADMIN, inbox.secret!]) assert.ok(!dump.includes(secret), 'no secret in clear in MongoDB');

    // The customer's message lands in the new inbox, and the agent's reply from it (signed with the inbox's own
    // secret) reaches WhatsApp: the stored secret is the right one.
    const from = '306911100001';
    const id = wamid();
    assert.equal((await h.postWebhook(delivery([[change([textMessage({ from, id, body: 'hi', timestamp: Math.floor(Date.now() / 1000) })], t.phoneNumberId)]]))).status, 200);
    const incoming = await eventually(() => {
      const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id);
      assert.ok(m);
      return m;
    });
    assert.equal(h.chatwoot.conversations(ACCOUNT_ID).find((c) => c.id === incoming.conversation_id)?.inbox_id, inbox.id);
    h.chatwoot.createAgentReply(ACCOUNT_ID, incoming.conversation_id, { content: 'hello from the new inbox' });
    await eventually(() => assert.ok(h.graph.sent.some((s) => s.phoneNumberId === t.phoneNumberId && JSON.stringify(s.body).includes('hello from the new inbox'))), 20_000);
  });

  test('when the install runs again, then the same inbox is kept and the new token reaches every connection', async () => {
    const t = await tenantWithConnection('Rerun');
    const first = await install({ connectionId: t.connectionId }, t.apiKey);
    assert.equal(first.status, 201);
    const before = await countInboxes();
    const newToken = 'cw-admin-token-rotated-987654321';
    h.chatwoot.addAccount({ id: ACCOUNT_ID, token: newToken, role: 'administrator' });
    const again = await install({ connectionId: t.connectionId, adminToken: newToken }, t.apiKey);
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.inbox.inboxId, first.json.inbox.inboxId);
    assert.equal(again.json.inbox.created, false);
    assert.equal(again.json.installation.id, first.json.installation.id);
    assert.equal(await countInboxes(), before, 'no second inbox');
    const list = await admin('GET', '/chatwoot/installations', undefined, t.apiKey);
    assert.equal(list.json.installations.length, 1);
    // The connection now talks to Chatwoot with the new token.
    h.chatwoot.reset();
    const id = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from: '306911100002', id, body: 'again', timestamp: Math.floor(Date.now() / 1000) })], t.phoneNumberId)]]));
    await eventually(() => assert.ok(h.chatwoot.messages(ACCOUNT_ID).some((x) => x.source_id === id)));
    const used = new Set(h.chatwoot.requests.filter((r) => r.path.includes('/contacts')).map((r) => r.headers.api_access_token));
    assert.deepEqual([...used], [newToken]);
  });

  test('when an inbox was left by a stopped run, then the next install takes it over, but never an inbox serving something else', async () => {
    const t = await tenantWithConnection('Leftover');
    const foreign = h.chatwoot.addInbox(ACCOUNT_ID, { name: 'Leftover WA', webhookUrl: 'https://crm.example.com/hook' });
    const left = h.chatwoot.addInbox(ACCOUNT_ID, { name: 'Leftover WA', webhookUrl: `${h.baseUrl}/webhooks/chatwoot/con_vanished123` });
    const res = await install({ connectionId: t.connectionId, inboxName: 'Leftover WA' }, t.apiKey);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.inbox.inboxId, left.id);
    assert.equal(res.json.inbox.created, false);
    assert.equal(fakeInbox(left.id).webhookUrl, `${h.baseUrl}/webhooks/chatwoot/${t.connectionId}`);
    assert.equal(fakeInbox(foreign.id).webhookUrl, 'https://crm.example.com/hook', 'an inbox pointing elsewhere is left alone');
  });

  test('when Chatwoot is older than 4.13 and does not sign, then the webhook URL carries the per-connection token', async () => {
    const t = await tenantWithConnection('Old');
    const unsigned = h.chatwoot.addInbox(ACCOUNT_ID, { name: 'Old WA', secret: null });
    const res = await install({ connectionId: t.connectionId, inboxName: 'Old WA' }, t.apiKey);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.inbox.inboxId, unsigned.id);
    assert.equal(res.json.inbox.signed, false);
    const url = fakeInbox(unsigned.id).webhookUrl!;
    assert.match(url, new RegExp(`^${h.baseUrl}/webhooks/chatwoot/${t.connectionId}/[\\w-]{32}$`));
    assert.equal((await admin('GET', `/connections/${t.connectionId}`, undefined, t.apiKey)).json.chatwootWebhookUrl, url);
  });

  test("when the token is an agent's or wrong, then nothing is installed and the admin reads why", async () => {
    const t = await tenantWithConnection('Agent');
    const agent = await install({ connectionId: t.connectionId, adminToken: CW_AGENT }, t.apiKey);
    assert.equal(agent.status, 400);
    assert.match(agent.json.error.message, /belongs to an agent, not an administrator, of account 1/);
    assert.equal(agent.json.error.details.reason, 'chatwoot_not_admin');
    const wrong = await install({ connectionId: t.connectionId, adminToken: 'not-a-chatwoot-token' }, t.apiKey);
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error.message, /Chatwoot refused the token .*administrator of account 1/);
    const unknownAccount = await install({ connectionId: t.connectionId, accountId: 999 }, t.apiKey);
    assert.equal(unknownAccount.status, 400);
    assert.match(unknownAccount.json.error.message, /not a member of account 999/);
    assert.deepEqual((await admin('GET', '/chatwoot/installations', undefined, t.apiKey)).json.installations, []);
    assert.ok(!h.logs.some((l) => l.includes(CW_AGENT) || l.includes(CW_ADMIN)), 'no token in the logs');
  });

  test("when another tenant asks for an installation, then it is not found, and a tenant cannot install for another's connection", async () => {
    const a = await tenantWithConnection('Owner');
    const b = await tenantWithConnection('Other');
    const res = await install({ connectionId: a.connectionId }, a.apiKey);
    assert.equal(res.status, 201);
    const id = res.json.installation.id as string;
    assert.equal((await admin('GET', `/chatwoot/installations/${id}`, undefined, b.apiKey)).status, 404);
    assert.equal((await admin('DELETE', `/chatwoot/installations/${id}`, undefined, b.apiKey)).status, 404);
    assert.equal((await install({ connectionId: a.connectionId }, b.apiKey)).status, 404);
    assert.equal((await admin('GET', `/chatwoot/installations/${id}`)).status, 200, 'the super-admin sees every tenant');
  });

  test('when the connector is uninstalled, then the webhooks are cleared and the installation, its connections and every secret are gone', async () => {
    const t = await tenantWithConnection('Uninstall');
    const res = await install({ connectionId: t.connectionId }, t.apiKey);
    assert.equal(res.status, 201);
    const inboxId = res.json.inbox.inboxId as number;
    const gone = await admin('DELETE', `/chatwoot/installations/${res.json.installation.id}`, undefined, t.apiKey);
    assert.equal(gone.status, 200, JSON.stringify(gone.json));
    // The harness's own number is on the same WABA, so the app stays subscribed there.
    assert.deepEqual(gone.json, { id: res.json.installation.id, webhooksCleared: 1, webhooksLeft: [], connectionsDeleted: [t.connectionId],
      metaUnsubscribe: [{ connectionId: t.connectionId, outcome: 'skipped_shared', subscription: 'waba 102290129340398' }] });
    assert.equal(fakeInbox(inboxId).webhookUrl, '', 'Chatwoot no longer calls the bridge for this inbox');
    assert.equal((await admin('GET', `/connections/${t.connectionId}`, undefined, t.apiKey)).status, 404);
    assert.equal(await db.collection('chatwoot_installations').countDocuments({ tenantId: t.tenantId }), 0);
    assert.equal(await db.collection('chatwoot_inboxes').countDocuments({ tenantId: t.tenantId }), 0);
    assert.equal(await db.collection('connections').countDocuments({ _id: t.connectionId as never }), 0);
    const audit = (await admin('GET', '/audit', undefined, t.apiKey)).json.events as Json[];
    assert.deepEqual(audit.filter((e) => e.action.startsWith('chatwoot.')).map((e) => e.action), ['chatwoot.uninstall', 'chatwoot.install']);
    assert.ok(!JSON.stringify(audit).includes(CW_ADMIN));
    // The inbox (and its conversations) stay in Chatwoot; installing again for a new connection can take it over.
    assert.ok(fakeInbox(inboxId));
  });

  test('when Chatwoot cannot be reached during the uninstall, then nothing is erased unless it is forced', async () => {
    const t = await tenantWithConnection('Down');
    const res = await install({ connectionId: t.connectionId }, t.apiKey);
    const id = res.json.installation.id as string;
    h.chatwoot.setDown(true, 503);
    try {
      const refused = await admin('DELETE', `/chatwoot/installations/${id}`, undefined, t.apiKey);
      assert.equal(refused.status, 502);
      assert.match(refused.json.error.message, /nothing was deleted; retry, or force the uninstall/);
      assert.equal((await admin('GET', `/chatwoot/installations/${id}`, undefined, t.apiKey)).status, 200);
      const forced = await admin('DELETE', `/chatwoot/installations/${id}?force=true`, undefined, t.apiKey);
      assert.equal(forced.status, 200);
      assert.deepEqual(forced.json.webhooksLeft, [res.json.inbox.inboxId]);
      assert.deepEqual(forced.json.connectionsDeleted, [t.connectionId]);
    } finally {
      h.chatwoot.setDown(false);
    }
    assert.equal(await db.collection('chatwoot_installations').countDocuments({ _id: id as never }), 0);
  });

  test("when an installed connection is deleted, then its inbox's webhook is cleared and the inbox can serve a new connection", async () => {
    const t = await tenantWithConnection('Deleted');
    const res = await install({ connectionId: t.connectionId, inboxName: 'Deleted WA' }, t.apiKey);
    assert.equal((await admin('DELETE', `/connections/${t.connectionId}`, undefined, t.apiKey)).status, 200);
    assert.equal(fakeInbox(res.json.inbox.inboxId).webhookUrl, '');
    assert.deepEqual((await admin('GET', `/chatwoot/installations/${res.json.installation.id}`, undefined, t.apiKey)).json.inboxes, []);
  });

  test('when a tenant is deleted, then its installations go too: webhooks cleared, admin token erased', async () => {
    const t = await tenantWithConnection('Leaving');
    const res = await install({ connectionId: t.connectionId }, t.apiKey);
    assert.equal(res.status, 201);
    assert.equal((await admin('DELETE', `/tenants/${t.tenantId}`)).status, 200);
    assert.equal(fakeInbox(res.json.inbox.inboxId).webhookUrl, '');
    assert.equal(await db.collection('chatwoot_installations').countDocuments({ tenantId: t.tenantId }), 0);
    assert.equal(await db.collection('chatwoot_inboxes').countDocuments({ tenantId: t.tenantId }), 0);
  });

  test('when the connector is installed and uninstalled from the CLI, then the admin API agrees, and the token never goes on the command line', async () => {
    const t = await tenantWithConnection('Cli');
    const env = { BRIDGE_URL: h.baseUrl, BRIDGE_ADMIN_KEY: t.apiKey };
    const installed = await runCli(['--json', 'connector', 'install', '--base-url', h.chatwoot.url, '--account-id', String(ACCOUNT_ID), '--connection', t.connectionId, '--token-stdin'], env, `${CW_ADMIN}\n`);
    assert.equal(installed.code, 0, installed.stderr);
    const out = JSON.parse(installed.stdout) as Json;
    assert.equal(out.inbox.connectionId, t.connectionId);
    const listed = await runCli(['connector', 'list'], env);
    assert.match(listed.stdout, new RegExp(`${out.installation.id}\\s+${h.chatwoot.url.replace(/[.]/g, '\\.')}\\s+1\\s+1`));
    const shown = await runCli(['connector', 'show', out.installation.id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`id: ${out.installation.id}`));
    assert.ok(!shown.stdout.includes(CW_ADMIN), 'the admin token never comes back');
    const link = await runCli(['--json', 'connector', 'link'], env);
    assert.equal(link.code, 0, link.stderr);
    assert.ok((JSON.parse(link.stdout).url as string).startsWith(`${h.baseUrl}/connect/`));
    assert.equal((await runCli(['connector', 'uninstall', out.installation.id], env)).code, 1, 'uninstall needs --yes');
    const removed = await runCli(['connector', 'uninstall', out.installation.id, '--yes'], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stderr, /webhooks cleared: 1; connections removed: 1/);
    const noToken = await runCli(['connector', 'install', '--base-url', h.chatwoot.url, '--account-id', '1'], env);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /--token-stdin or --token-file/);
  });
});
