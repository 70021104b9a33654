/**
 * Tenants: keys shown once and kept as hashes, every admin query scoped to the caller's tenant (another
 * tenant's objects answer 404), failed keys rate-limited, admin actions audited per tenant.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, CHATWOOT_TOKEN, META_TOKEN, createTenant, startHarness, type Harness } from '../support/harness';

type Json = Record<string, any>;

describe('tenants and the admin API', () => {
  let h: Harness;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  let connA: string;
  let connB: string;

  const call = (key: string, method: string, path: string, body?: unknown) => fetch(`${h.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const connectionBody = (businessId: string) => ({
    name: `Number ${businessId}`, channel: 'whatsapp', businessId, metaAccessToken: META_TOKEN,
    platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: CHATWOOT_TOKEN },
  });

  before(async () => {
    h = await startHarness();
    a = await createTenant(h.baseUrl, 'Tenant A');
    b = await createTenant(h.baseUrl, 'Tenant B');
    const ra = await call(a.apiKey, 'POST', '/admin/connections', connectionBody('2000000001'));
    const rb = await call(b.apiKey, 'POST', '/admin/connections', connectionBody('2000000002'));
    assert.equal(ra.status, 201);
    assert.equal(rb.status, 201);
    connA = ((await ra.json()) as Json).id;
    connB = ((await rb.json()) as Json).id;
  });
  after(async () => h.stop());

  test('when a tenant is created, then its key is shown once and stored only as a hash', async () => {
    assert.match(a.apiKey, /^tk_[A-Za-z0-9_-]{43}$/);
    const listed = await (await call(ADMIN_KEY, 'GET', '/admin/tenants')).text();
    assert.ok(listed.includes(a.id) && !listed.includes(a.apiKey), 'the list names the tenant, never its key');
    const db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
    try {
      const docs = JSON.stringify(await db.collection('tenants').find().toArray());
      assert.ok(!docs.includes(a.apiKey) && !docs.includes(b.apiKey), 'no tenant key in the database');
      assert.ok(docs.includes(a.id));
    } finally {
      await db.close();
    }
  });

  test("when tenant A's key is used, then it lists, reads, changes and deletes only A's connections; B's answer 404", async () => {
    const list = (await (await call(a.apiKey, 'GET', '/admin/connections')).json()) as Json;
    assert.deepEqual(list.connections.map((c: Json) => c.id), [connA]);
    assert.equal(list.connections[0].tenantId, a.id);
    assert.equal((await call(a.apiKey, 'GET', `/admin/connections/${connB}`)).status, 404);
    assert.equal((await call(a.apiKey, 'DELETE', `/admin/connections/${connB}`)).status, 404);
    // Not found looks exactly like a connection that never existed: nothing to enumerate.
    const missing = await (await call(a.apiKey, 'GET', '/admin/connections/con_doesnotexist')).json();
    const foreign = await (await call(a.apiKey, 'GET', `/admin/connections/${connB}`)).json();
    assert.deepEqual(foreign, missing);
    const claim = await call(a.apiKey, 'POST', '/admin/connections', { ...connectionBody('2000000003'), tenantId: b.id });
    assert.equal(claim.status, 400, "A cannot create a connection in B's name");
    assert.equal((await call(b.apiKey, 'GET', `/admin/connections/${connB}`)).status, 200, "B's connection is untouched");
    const all = (await (await call(ADMIN_KEY, 'GET', '/admin/connections')).json()) as Json;
    assert.deepEqual(new Set(all.connections.map((c: Json) => c.id)), new Set([h.connectionId, connA, connB]), 'the super-admin sees every tenant');
  });

  test('when a tenant calls tenant routes, then it sees only itself', async () => {
    assert.equal((await call(a.apiKey, 'GET', '/admin/tenants')).status, 404);
    assert.equal((await call(a.apiKey, 'POST', '/admin/tenants', { name: 'sneaky' })).status, 404);
    assert.equal((await call(a.apiKey, 'GET', `/admin/tenants/${b.id}`)).status, 404);
    assert.equal((await call(a.apiKey, 'POST', `/admin/tenants/${b.id}/api-key`)).status, 404);
    assert.equal((await call(a.apiKey, 'DELETE', `/admin/tenants/${b.id}`)).status, 404);
    const self = (await (await call(a.apiKey, 'GET', '/admin/tenant')).json()) as Json;
    assert.deepEqual([self.id, self.name], [a.id, 'Tenant A']);
  });

  test('when the super-admin creates a connection, then it must name an existing tenant', async () => {
    assert.equal((await call(ADMIN_KEY, 'POST', '/admin/connections', connectionBody('2000000004'))).status, 400);
    assert.equal((await call(ADMIN_KEY, 'POST', '/admin/connections', { ...connectionBody('2000000004'), tenantId: 'ten_nope' })).status, 400);
    const ok = await call(ADMIN_KEY, 'POST', '/admin/connections', { ...connectionBody('2000000004'), tenantId: b.id });
    assert.equal(ok.status, 201);
    assert.equal(((await ok.json()) as Json).tenantId, b.id);
  });

  test("when a tenant replaces its key, then the old key stops working at once", async () => {
    const c = await createTenant(h.baseUrl, 'Tenant C');
    const res = await call(c.apiKey, 'POST', `/admin/tenants/${c.id}/api-key`);
    assert.equal(res.status, 200);
    const { apiKey } = (await res.json()) as Json;
    assert.notEqual(apiKey, c.apiKey);
    assert.equal((await call(c.apiKey, 'GET', '/admin/tenant')).status, 401);
    assert.equal((await call(apiKey, 'GET', '/admin/tenant')).status, 200);
  });

  test('when admin actions happen, then each tenant reads only its own audit events', async () => {
    const mine = (await (await call(a.apiKey, 'GET', '/admin/audit')).json()) as Json;
    const actions = mine.events.map((e: Json) => `${e.action}:${e.target?.id}`);
    assert.ok(actions.includes(`connection.create:${connA}`), actions.join(','));
    assert.ok(!actions.includes(`connection.create:${connB}`), "B's events are not A's business");
    assert.ok(mine.events.every((e: Json) => e.tenantId === a.id));
    const created = mine.events.find((e: Json) => e.action === 'connection.create');
    assert.equal(created.actor, `tenant:${a.id}`);
    assert.ok(!JSON.stringify(mine).includes(META_TOKEN), 'no secret in audit events');
    const all = (await (await call(ADMIN_KEY, 'GET', '/admin/audit?action=tenant.create')).json()) as Json;
    assert.ok(all.events.length >= 2 && all.events.every((e: Json) => e.action === 'tenant.create'));
    assert.equal((await call(ADMIN_KEY, 'GET', '/admin/audit?limit=0')).status, 400);
  });

  test('when the super-admin deletes a tenant, then its connections go with it and its key stops working', async () => {
    const d = await createTenant(h.baseUrl, 'Tenant D');
    const created = await call(d.apiKey, 'POST', '/admin/connections', connectionBody('2000000005'));
    const id = ((await created.json()) as Json).id;
    assert.equal((await call(ADMIN_KEY, 'DELETE', `/admin/tenants/${d.id}`)).status, 200);
    assert.equal((await call(ADMIN_KEY, 'GET', `/admin/connections/${id}`)).status, 404);
    assert.equal((await call(d.apiKey, 'GET', '/admin/tenant')).status, 401);
    assert.equal((await call(ADMIN_KEY, 'DELETE', `/admin/tenants/${d.id}`)).status, 404);
  });
});

describe('failed admin keys', () => {
  test('when one address sends too many wrong keys, then it gets 429 with Retry-After, even with a right key, until the window passes', async () => {
    const h = await startHarness({ env: { ADMIN_AUTH_MAX_FAILURES: '3', ADMIN_AUTH_WINDOW_S: '2' } });
    try {
      const get = (key: string) => fetch(`${h.baseUrl}/admin/connections`, { headers: { authorization: `Bearer ${key}` } });
      assert.deepEqual([(await get('tk_wrong')).status, (await get('wrong')).status, (await get('')).status], [401, 401, 401]);
      const blocked = await get(ADMIN_KEY);
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
      await new Promise((r) => setTimeout(r, 2200));
      assert.equal((await get(ADMIN_KEY)).status, 200);
    } finally {
      await h.stop();
    }
  });
});
