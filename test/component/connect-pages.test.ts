/**
 * The channel connection page over plain HTTP (the browser test drives the same flow in Chromium): links that
 * expire and cannot be forged, the one CSRF cookie and its echo, the page's headers, WhatsApp Embedded Signup's
 * server side (code → token → subscribe → register → inbox → stored) and its failures in plain words, and
 * Facebook Pages with Instagram. Then what Meta later says about what was connected: each connection records who
 * granted its token (GET /me for a Login, a verified signedRequest for Embedded Signup), so that person's
 * Deauthorize callback finds it, and WhatsApp's account_update PARTNER_APP_UNINSTALLED disconnects a WABA's
 * numbers. The Graph and Chatwoot fakes refuse what Meta and Chatwoot refuse.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, APP_SECRET, eventually, type Harness } from '../support/harness';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { CW_ADMIN_TOKEN, META_APP_ID, startOnboardingHarness, type OnboardingHarness } from '../support/onboarding';
import { ConnectTokens } from '../../src/onboarding/connect-links';
import { Sealer } from '../../src/queue/sealed';
import { KeyRing } from '../../src/crypto/keyring';
import { signRequest } from '../../src/channels/meta/signed-request';

type Json = Record<string, any>;

describe('channel connection page (HTTP)', () => {
  let o: OnboardingHarness;
  let h: Harness;
  let db: mongoose.Connection;
  before(async () => {
    o = await startOnboardingHarness({ tenantName: 'Café <b>Olé</b> & Co' });
    h = o.h;
    db = await mongoose.createConnection(h.env.MONGODB_URI!).asPromise();
  });
  after(async () => {
    await db?.close();
    await h?.stop();
  });

  /** Opens the page like a browser: the CSRF cookie and the state the page carries. */
  async function openPage(url: string): Promise<{ res: Response; html: string; cookie: string; state: string; base: string }> {
    const res = await fetch(url);
    const html = await res.text();
    const setCookie = res.headers.get('set-cookie') ?? '';
    const config = JSON.parse(/<script type="application\/json" id="connect-config">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}') as Json;
    return { res, html, cookie: setCookie.split(';')[0] ?? '', state: config.state, base: config.base };
  }

  async function post(page: { cookie: string; state: string; base: string }, path: string, body: unknown, opts: { cookie?: string | null; state?: string } = {}): Promise<{ status: number; json: Json }> {
    const cookie = opts.cookie === undefined ? page.cookie : opts.cookie;
    const res = await fetch(`${h.baseUrl}${page.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-connect-state': opts.state ?? page.state, ...(cookie ? { cookie } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() as Json };
  }

  let seq = 0;
  /** A WABA with one number, and the code Embedded Signup would hand the page for it. */
  function businessAccount(number: { status?: 'PENDING' | 'CONNECTED'; pin?: string } = {}): { wabaId: string; phoneNumberId: string; code: string } {
    seq += 1;
    const wabaId = `20229012934${String(seq).padStart(4, '0')}`;
    const phoneNumberId = `30654035224${String(seq).padStart(4, '0')}`;
    h.graph.onboarding.addBusinessAccount({ id: wabaId, numbers: [{ id: phoneNumberId, displayPhoneNumber: `+1 555-010-${String(seq).padStart(4, '0')}`, verifiedName: `Shop ${seq}`, ...number }] });
    return { wabaId, phoneNumberId, code: h.graph.onboarding.issueBusinessCode({ wabaIds: [wabaId] }) };
  }

  /** A WABA with two numbers, both signed up through Embedded Signup on `page`: one subscription serving two connections. */
  async function signUpTwoNumbers(page: { cookie: string; state: string; base: string }): Promise<{ wabaId: string; numbers: string[]; ids: string[] }> {
    seq += 1;
    const n = String(seq).padStart(4, '0');
    const wabaId = `20229012935${n}`;
    const numbers = [`30654035225${n}`, `30654035226${n}`];
    h.graph.onboarding.addBusinessAccount({ id: wabaId, numbers: numbers.map((id, i) => ({ id, displayPhoneNumber: `+1 555-020-${i}${n.slice(1)}`, verifiedName: `Shop ${seq}-${i}` })) });
    const ids: string[] = [];
    for (const phoneNumberId of numbers) {
      const res = await post(page, '/whatsapp', { code: h.graph.onboarding.issueBusinessCode({ wabaIds: [wabaId] }), event: 'FINISH', wabaId, phoneNumberId });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      ids.push(res.json.connection.id);
    }
    return { wabaId, numbers, ids };
  }

  test('when the page is opened from a link, then it sets only the CSRF cookie and serves itself with its own CSP', async () => {
    const page = await openPage(await o.connectLink());
    assert.equal(page.res.status, 200);
    const setCookies = page.res.headers.getSetCookie();
    assert.equal(setCookies.length, 1, 'one cookie, no other');
    assert.match(setCookies[0]!, /^connect_state=[\w-]{43}; Max-Age=900; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    assert.equal(page.cookie.split('=')[1], page.state, 'the page carries the state of its cookie');
    const csp = page.res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' https:\/\/connect\.facebook\.net(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!/unsafe-inline/.test(/script-src[^;]*/.exec(csp)![0]), 'no inline script allowed');
    assert.equal(page.res.headers.get('cross-origin-opener-policy'), 'same-origin-allow-popups');
    assert.equal(page.res.headers.get('cache-control'), 'no-store');
    assert.ok(page.html.includes('Café &lt;b&gt;Olé&lt;/b&gt; &amp; Co'), "the tenant's name is escaped");
    assert.ok(!page.html.includes('<b>Olé</b>'));
    assert.ok(page.html.includes('id="connect-whatsapp"') && page.html.includes('id="connect-pages"'));
    assert.ok(!/<script>(?!\s*<\/script>)/.test(page.html), 'no inline script element');
    const script = await fetch(`${h.baseUrl}/connect-assets/connect.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
  });

  test('when a link is expired, forged or its installation is gone, then the page says so in plain words', async () => {
    const keys = KeyRing.fromList(h.env.ENCRYPTION_KEYS!.split(','));
    const tokens = new ConnectTokens(new Sealer(keys), 60);
    const old = tokens.mintLink({ tenantId: o.tenantId, installationId: o.installationId, createdBy: 'test' }, Date.now() - 120_000);
    const expired = await fetch(`${h.baseUrl}/connect/${old.token}`);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /This link has expired/);
    assert.equal(expired.headers.getSetCookie().length, 0, 'no cookie for a dead link');
    const url = await o.connectLink();
    const forged = await fetch(`${url.slice(0, -6)}AAAAAA`);
    assert.equal(forged.status, 404);
    assert.match(await forged.text(), /This link is not valid/);
    const otherKeys = new ConnectTokens(new Sealer(KeyRing.fromList([`${Buffer.alloc(32, 7).toString('base64url')}=`])), 600);
    const foreign = otherKeys.mintLink({ tenantId: o.tenantId, installationId: o.installationId, createdBy: 'attacker' });
    assert.equal((await fetch(`${h.baseUrl}/connect/${foreign.token}`)).status, 404, 'a link sealed with another key is refused');
  });

  test('when a POST comes without the cookie or with another state, then it is refused before anything happens', async () => {
    const page = await openPage(await o.connectLink());
    const { wabaId, code } = businessAccount();
    const body = { code, event: 'FINISH', wabaId };
    const noCookie = await post(page, '/whatsapp', body, { cookie: null });
    assert.equal(noCookie.status, 403);
    assert.match(noCookie.json.error.message, /Reload the page from its link/);
    assert.equal((await post(page, '/whatsapp', body, { state: 'x'.repeat(43) })).status, 403);
    assert.equal(h.graph.requests.filter((r) => r.path.endsWith('/oauth/access_token')).length, 0, 'the code was never spent');
  });

  test('when WhatsApp Embedded Signup finishes, then the code is exchanged, the app subscribed, the number registered, the inbox made and the connection stored', async () => {
    const page = await openPage(await o.connectLink());
    const { wabaId, phoneNumberId, code } = businessAccount();
    const res = await post(page, '/whatsapp', { code, event: 'FINISH', wabaId, phoneNumberId });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.match(res.json.message, /^Connected WhatsApp number …\d{4} \(Shop \d+\): its messages now go to the Chatwoot inbox "WhatsApp Shop \d+ …\d{4}"\. It is registered for the Cloud API\.$/);
    assert.deepEqual(h.graph.onboarding.subscribedApps(wabaId), [META_APP_ID]);
    const number = h.graph.onboarding.phoneNumber(phoneNumberId)!;
    assert.equal(number.status, 'CONNECTED');
    assert.match(res.json.generatedPin, /^\d{6}$/);
    assert.equal(number.pin, res.json.generatedPin, 'the PIN shown is the one set');
    const exchange = h.graph.requests.find((r) => r.path.endsWith('/oauth/access_token') && r.query.code === code)!;
    assert.equal(exchange.query.client_id, META_APP_ID);
    assert.equal(exchange.query.redirect_uri, undefined, 'no redirect_uri in the JS SDK flow');

    const conn = await o.admin('GET', `/connections/${res.json.connection.id}`);
    assert.equal(conn.json.businessId, phoneNumberId);
    assert.equal(conn.json.wabaId, wabaId);
    assert.equal(conn.json.tenantId, o.tenantId);
    const inbox = h.chatwoot.updateInbox(ACCOUNT_ID, res.json.inbox.id, {});
    assert.equal(inbox.webhookUrl, `${h.baseUrl}/webhooks/chatwoot/${res.json.connection.id}`);
    assert.equal(inbox.additionalAttributes?.agent_reply_time_window, 24);
    const stored = JSON.stringify(await db.collection('connections').findOne({ _id: res.json.connection.id }));
    const businessToken = h.graph.issuedTokens.find((i) => i.from === code)!.to;
    assert.ok(!stored.includes(businessToken) && !stored.includes(inbox.secret!) && !stored.includes(CW_ADMIN_TOKEN), 'tokens and secret only sealed');
    const audit = (await o.admin('GET', '/audit?action=connection.onboard')).json.events as Json[];
    assert.equal(audit[0]!.target.id, res.json.connection.id);
    assert.equal(audit[0]!.details.via, 'connect-page');

    // The new connection works: a customer message arrives in its inbox, sent with the business token.
    const id = wamid();
    await h.postWebhook(delivery([[change([textMessage({ from: '306922200001', id, body: 'first!', timestamp: Math.floor(Date.now() / 1000) })], phoneNumberId)]]));
    const m = await eventually(() => { const x = h.chatwoot.messages(ACCOUNT_ID).find((y) => y.source_id === id); assert.ok(x); return x; });
    assert.equal(h.chatwoot.conversations(ACCOUNT_ID).find((c) => c.id === m.conversation_id)?.inbox_id, inbox.id);
    h.chatwoot.createAgentReply(ACCOUNT_ID, m.conversation_id, { content: 'welcome' });
    await eventually(() => assert.ok(h.graph.sent.some((s) => s.phoneNumberId === phoneNumberId)), 20_000);

    // Signing up the same number again (a new code): same connection, same inbox, no second registration.
    const again = await post(page, '/whatsapp', { code: h.graph.onboarding.issueBusinessCode({ wabaIds: [wabaId] }), event: 'FINISH', wabaId, phoneNumberId });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.connection.id, res.json.connection.id);
    assert.equal(again.json.inbox.id, res.json.inbox.id);
    assert.equal(again.json.registration, 'already_registered');
    assert.equal(number.registerAttempts, 1);
  });

  test('when Embedded Signup cannot complete, then the admin reads what to do, and a spent code is not retried', async () => {
    const page = await openPage(await o.connectLink());
    const a = businessAccount();
    assert.equal((await post(page, '/whatsapp', { code: a.code, event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId })).status, 201);
    const reused = await post(page, '/whatsapp', { code: a.code, event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId });
    assert.equal(reused.status, 400);
    assert.match(reused.json.error.message, /Facebook did not accept the login code: it expired .* or was already used\. Click "Connect WhatsApp" again\./);

    const b = businessAccount({ pin: '111111' });
    const wrongPin = await post(page, '/whatsapp', { code: b.code, event: 'FINISH', wabaId: b.wabaId, phoneNumberId: b.phoneNumberId, pin: '222222' });
    assert.equal(wrongPin.status, 400);
    assert.match(wrongPin.json.error.message, /already has a two-step verification PIN, and the one given does not match/);

    const c = businessAccount();
    const elsewhere = await post(page, '/whatsapp', { code: c.code, event: 'FINISH', wabaId: c.wabaId, phoneNumberId: b.phoneNumberId });
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.json.error.message, /not in the WhatsApp Business Account you shared/);

    const d = businessAccount({ status: 'CONNECTED' });
    const coexistence = await post(page, '/whatsapp', { code: d.code, event: 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING', wabaId: d.wabaId });
    assert.equal(coexistence.status, 201, JSON.stringify(coexistence.json));
    assert.equal(coexistence.json.registration, 'left_to_business_app');
    assert.equal(h.graph.onboarding.phoneNumber(d.phoneNumberId)!.registerAttempts, 0, 'a Business app number is not registered by us');

    const bad = await post(page, '/whatsapp', { code: 'x', event: 'CANCEL', wabaId: '../../me' });
    assert.equal(bad.status, 400, 'ids that are not numbers never reach a Graph path');
    assert.ok(!h.logs.some((l) => l.includes(a.code) || h.graph.onboarding.issuedTokens.some((t) => l.includes(t))), 'no code or token in the logs');
  });

  test('when Pages are connected, then each chosen Page is subscribed and gets a Messenger and an Instagram connection, and a grant works for its tenant only', async () => {
    h.graph.onboarding.addPage({ id: '771000000001', name: 'Bakery', instagram: { id: '17841400000000001', username: 'bakery' } });
    h.graph.onboarding.addPage({ id: '771000000002', name: 'Bistro' });
    const page = await openPage(await o.connectLink());
    const authorized = await post(page, '/pages/authorize', { code: h.graph.onboarding.issueUserCode({ pageIds: ['771000000001', '771000000002'] }) });
    assert.equal(authorized.status, 200, JSON.stringify(authorized.json));
    assert.deepEqual(authorized.json.pages, [
      { id: '771000000001', name: 'Bakery', instagram: { id: '17841400000000001' } },
      { id: '771000000002', name: 'Bistro' },
    ]);
    assert.ok(!JSON.stringify(authorized.json.pages).includes('EAAP-'), 'Page tokens stay inside the sealed grant');

    const connected = await post(page, '/pages/connect', { grant: authorized.json.grant, pages: [
      { pageId: '771000000001', messenger: true, instagram: true },
      { pageId: '771000000002', messenger: true, instagram: true },
    ] });
    assert.equal(connected.status, 200, JSON.stringify(connected.json));
    const [bakery, bistro] = connected.json.results as [Json, Json];
    assert.equal(bakery.error, false);
    assert.match(bakery.message, /^Bakery: Messenger → Chatwoot inbox "Messenger Bakery", Instagram → Chatwoot inbox "Instagram Bakery"\.$/);
    assert.equal(bistro.error, true);
    assert.match(bistro.message, /^Bistro: messenger connected, but The Page "Bistro" has no Instagram professional account linked/);
    assert.deepEqual(h.graph.onboarding.page('771000000001')!.subscribedFields, ['messages', 'messaging_postbacks', 'message_deliveries', 'message_reads', 'message_echoes', 'message_reactions', 'message_edits', 'messaging_referrals']);
    const list = (await o.admin('GET', '/connections')).json.connections as Json[];
    const ig = list.find((c) => c.channel === 'instagram' && c.businessId === '17841400000000001');
    assert.deepEqual(ig?.options, { tokenKind: 'page' });
    assert.ok(list.some((c) => c.channel === 'messenger' && c.businessId === '771000000002'));
    // The Pages were read with the long-lived user token, so their tokens do not expire.
    const accounts = h.graph.requests.find((r) => r.path.endsWith('/me/accounts'))!;
    const longLived = h.graph.issuedTokens.filter((i) => i.via === 'fb_exchange_token').map((i) => i.to);
    assert.ok(longLived.includes(String(accounts.headers.authorization).replace(/^Bearer /, '')));

    const other = await startOtherTenantPage();
    const stolen = await post(other, '/pages/connect', { grant: authorized.json.grant, pages: [{ pageId: '771000000001', messenger: true, instagram: false }] });
    assert.equal(stolen.status, 400);
    assert.match(stolen.json.error.message, /too old .* or was not made for this link/);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const stored = async (id: string) => (await h.bridge!.connections!.findById(id))!;
  /** Meta's Deauthorize callback for this app-scoped user, signed like Meta signs it. */
  const deauthorize = (userId: string) => fetch(`${h.baseUrl}/meta/deauthorize`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ signed_request: signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: userId }, APP_SECRET) }).toString(),
  });

  test('when Pages are connected through Facebook Login, then each connection records who logged in, and their Deauthorize disconnects exactly those', async () => {
    const U = '10160000000000101';
    const W = '10160000000000102';
    h.graph.onboarding.addPage({ id: '771000000011', name: 'Tea Room', instagram: { id: '17841400000000011', username: 'tearoom' } });
    h.graph.onboarding.addPage({ id: '771000000012', name: 'Dry Cleaner' });
    const connect = async (userId: string, pageId: string, instagram: boolean) => {
      const page = await openPage(await o.connectLink());
      const authorized = await post(page, '/pages/authorize', { code: h.graph.onboarding.issueUserCode({ pageIds: [pageId], userId }) });
      assert.equal(authorized.status, 200, JSON.stringify(authorized.json));
      assert.ok(!JSON.stringify(authorized.json).includes(userId), 'the user id travels only inside the sealed grant');
      const connected = await post(page, '/pages/connect', { grant: authorized.json.grant, pages: [{ pageId, messenger: true, instagram }] });
      assert.equal(connected.status, 200, JSON.stringify(connected.json));
      return (connected.json.results[0].connected as Json[]).map((c) => c.connectionId as string);
    };
    const byU = await connect(U, '771000000011', true);
    const byW = await connect(W, '771000000012', false);
    assert.equal(byU.length, 2, 'Messenger and Instagram');
    for (const id of byU) assert.equal((await stored(id)).grantedByUserId, U);
    assert.equal((await stored(byW[0]!)).grantedByUserId, W);
    // Asked with the person's long-lived user token, never a Page token.
    const me = h.graph.requests.filter((r) => r.path.endsWith('/me') && r.method === 'GET');
    const longLived = h.graph.issuedTokens.filter((i) => i.via === 'fb_exchange_token').map((i) => i.to);
    assert.ok(me.length >= 2 && me.every((r) => longLived.includes(String(r.headers.authorization).replace(/^Bearer /, ''))));
    assert.deepEqual(me.map((r) => r.query.fields), me.map(() => 'id'));

    const res = await deauthorize(U);
    assert.equal(res.status, 200);
    for (const id of byU) {
      const conn = await stored(id);
      assert.equal(conn.health, 'disconnected');
      assert.equal(conn.metaToken, '', "U's Page token is deleted");
    }
    const other = await stored(byW[0]!);
    assert.equal(other.health === 'disconnected', false, "W's connection is untouched");
    assert.ok(other.metaToken.startsWith('EAAP-'), "W's token stays");
    const audit = (await o.admin('GET', '/audit?action=meta.deauthorize')).json.events as Json[];
    assert.deepEqual(audit.map((e) => e.target.id).sort(), [...byU].sort());

    // The Page connected again by another admin: their token and their id replace U's, and the connection works again.
    const again = await connect(W, '771000000011', true);
    assert.deepEqual([...again].sort(), [...byU].sort(), 'the same connections');
    for (const id of byU) {
      const conn = await stored(id);
      assert.equal(conn.grantedByUserId, W);
      assert.notEqual(conn.health, 'disconnected');
    }
  });

  test('when Embedded Signup posts a signedRequest, then a valid one records who signed up, and a tampered one is refused before the code is spent', async () => {
    const U = '10160000000000201';
    const a = businessAccount();
    const page = await openPage(await o.connectLink());
    const session = { code: a.code, event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId };
    const payload = { algorithm: 'HMAC-SHA256', code: a.code, issued_at: now(), user_id: U };
    const [signature] = signRequest({ ...payload, user_id: '10160000000000999' }, APP_SECRET).split('.');
    const tampered: Array<[string, string]> = [
      ['signed with another secret', signRequest(payload, 'not-the-app-secret')],
      ['with a changed payload', `${signature}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`],
      ['naming no user', signRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: 0, profile_id: '771000000011' }, APP_SECRET)],
    ];
    for (const [why, signedRequest] of tampered) {
      const refused = await post(page, '/whatsapp', { ...session, signedRequest });
      assert.equal(refused.status, 400, why);
      assert.match(refused.json.error.message, /^Facebook's login answer did not verify .*nothing was connected/, why);
    }
    const bare = await post(page, '/whatsapp', { ...session, userID: U });
    assert.equal(bare.status, 400, "a browser's bare userID is not taken");
    assert.equal(h.graph.requests.filter((r) => r.path.endsWith('/oauth/access_token') && r.query.code === a.code).length, 0, 'the code was never spent');
    assert.deepEqual(h.graph.onboarding.subscribedApps(a.wabaId), []);
    assert.ok(!((await o.admin('GET', '/connections')).json.connections as Json[]).some((c) => c.businessId === a.phoneNumberId), 'nothing connected');

    const res = await post(page, '/whatsapp', { ...session, signedRequest: signRequest(payload, APP_SECRET) });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const conn = await stored(res.json.connection.id);
    assert.equal(conn.grantedByUserId, U);
    assert.notEqual(conn.grantedByUserId, h.graph.onboarding.systemUserIdOf(a.code), "not the business token's system user");

    // Signed up again without one (whether Meta's SDK gives one in this flow is unconfirmed): the new token's
    // granter is unknown, so U no longer stands beside it.
    const again = await post(page, '/whatsapp', { code: h.graph.onboarding.issueBusinessCode({ wabaIds: [a.wabaId] }), event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal((await stored(res.json.connection.id)).grantedByUserId, undefined);
  });

  test('when Meta reports PARTNER_APP_UNINSTALLED for a WABA, then its numbers are disconnected and audited, another tenant\'s WABA is untouched, and a redelivery changes nothing', async () => {
    // WABA X with two numbers in this tenant, WABA Y in another tenant; both onboarded through Embedded Signup.
    const page = await openPage(await o.connectLink());
    const { wabaId: X, numbers: xNumbers, ids: xIds } = await signUpTwoNumbers(page);
    const y = businessAccount();
    const other = await startOtherTenantPage();
    const yRes = await post(other, '/whatsapp', { code: y.code, event: 'FINISH', wabaId: y.wabaId, phoneNumberId: y.phoneNumberId });
    assert.equal(yRes.status, 201, JSON.stringify(yRes.json));
    const yId = yRes.json.connection.id as string;
    const ownBefore = await stored(h.connectionId);

    // entry.time has whole seconds: let a second pass so the event is plainly later than the tokens given above.
    await new Promise((r) => setTimeout(r, 1100));
    const accountUpdate = (event: string, wabaInfo: Json, entryId: string) => ({
      object: 'whatsapp_business_account',
      entry: [{ id: entryId, time: now(), changes: [{ field: 'account_update', value: { event, waba_info: wabaInfo } }] }],
    });
    // entry.id names Y on purpose: only waba_info.waba_id says which account lost the app.
    const uninstalled = accountUpdate('PARTNER_APP_UNINSTALLED', { waba_id: X, owner_business_id: '2329417887457253' }, y.wabaId);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const res = await h.postWebhook(uninstalled);
      assert.equal(res.status, 200, `delivery ${delivery}`);
      for (const id of xIds) {
        const conn = await stored(id);
        assert.equal(conn.health, 'disconnected', `delivery ${delivery}`);
        assert.equal(conn.metaToken, '', 'the business token is deleted');
      }
      const audit = (await o.admin('GET', '/audit?action=meta.partner_app_uninstalled')).json.events as Json[];
      assert.deepEqual(audit.map((e) => e.target.id).sort(), [...xIds].sort(), `one audit event per connection after delivery ${delivery}`);
      assert.ok(audit.every((e) => e.actor === 'meta' && e.details.tokenDeleted === true));
    }
    const stillY = await stored(yId);
    assert.notEqual(stillY.health, 'disconnected');
    assert.ok(stillY.metaToken.startsWith('EAAB-'), "the other tenant's token stays");
    const own = await stored(h.connectionId);
    assert.notEqual(own.health, 'disconnected', 'a connection of a third WABA is untouched');
    assert.equal(own.metaToken, ownBefore.metaToken);

    // Other account_update events keep today's behaviour, and an uninstall naming another app is not about this one.
    assert.equal((await h.postWebhook(accountUpdate('PARTNER_ADDED', { waba_id: y.wabaId }, y.wabaId))).status, 200);
    assert.equal((await h.postWebhook(accountUpdate('PARTNER_APP_UNINSTALLED', { waba_id: y.wabaId, partner_app_id: '999999999999' }, y.wabaId))).status, 200);
    assert.ok((await stored(yId)).metaToken.startsWith('EAAB-'));
    const everyAudit = await fetch(`${h.baseUrl}/admin/audit?limit=1000`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }).then((r) => r.json()) as Json;
    assert.ok(!(everyAudit.events as Json[]).some((e) => e.target?.id === yId && e.action.startsWith('meta.')), 'nothing Meta-driven happened to Y');

    // Signing the number up again brings it back, and a late redelivery of the old uninstall does not undo that.
    await new Promise((r) => setTimeout(r, 1100));
    const back = await post(page, '/whatsapp', { code: h.graph.onboarding.issueBusinessCode({ wabaIds: [X] }), event: 'FINISH', wabaId: X, phoneNumberId: xNumbers[0] });
    assert.equal(back.status, 200, JSON.stringify(back.json));
    assert.notEqual((await stored(xIds[0]!)).health, 'disconnected');
    assert.equal((await h.postWebhook(uninstalled)).status, 200);
    assert.notEqual((await stored(xIds[0]!)).health, 'disconnected', 'an uninstall from before the reconnect, delivered again, changes nothing');
  });

  /** Meta's calls that unsubscribed (or tried to unsubscribe) the app from this WABA or Page. */
  const unsubscribeCalls = (id: string) => h.graph.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/${id}/subscribed_apps`));
  const tokenOf = (code: string) => h.graph.issuedTokens.find((i) => i.from === code)!.to;
  const auditOf = async (connectionId: string) => ((await o.admin('GET', '/audit?action=connection.delete')).json.events as Json[]).find((e) => e.target.id === connectionId);

  test('when the only connection of a WABA is deleted, then the app is unsubscribed from the WABA at Meta with its token, and the answer and the audit event say done', async () => {
    const page = await openPage(await o.connectLink());
    const a = businessAccount();
    const res = await post(page, '/whatsapp', { code: a.code, event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = res.json.connection.id as string;
    assert.deepEqual(h.graph.onboarding.subscribedApps(a.wabaId), [META_APP_ID]);

    const deleted = await o.admin('DELETE', `/connections/${id}`);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
    assert.deepEqual(deleted.json, { id, deleted: true, metaUnsubscribe: { outcome: 'done', subscription: `waba ${a.wabaId}` } });
    assert.deepEqual(h.graph.onboarding.subscribedApps(a.wabaId), [], 'Meta no longer sends this WABA to the app');
    const calls = unsubscribeCalls(a.wabaId);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.headers.authorization, `Bearer ${tokenOf(a.code)}`, "with the deleted connection's business token");
    assert.deepEqual((await auditOf(id))?.details, { metaUnsubscribe: 'done', metaSubscription: `waba ${a.wabaId}` });
    assert.equal((await o.admin('GET', `/connections/${id}`)).status, 404);
  });

  test('when one of two numbers of a WABA is deleted, then the WABA stays subscribed (skipped_shared), and deleting the other unsubscribes it', async () => {
    const { wabaId, ids } = await signUpTwoNumbers(await openPage(await o.connectLink()));

    const first = await o.admin('DELETE', `/connections/${ids[0]}`);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.deepEqual(first.json.metaUnsubscribe, { outcome: 'skipped_shared', subscription: `waba ${wabaId}` });
    assert.deepEqual(h.graph.onboarding.subscribedApps(wabaId), [META_APP_ID], 'the other number still needs the subscription');
    assert.equal(unsubscribeCalls(wabaId).length, 0, 'Meta was not asked');
    assert.equal((await auditOf(ids[0]!))?.details.metaUnsubscribe, 'skipped_shared');

    const second = await o.admin('DELETE', `/connections/${ids[1]}`);
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.deepEqual(second.json.metaUnsubscribe, { outcome: 'done', subscription: `waba ${wabaId}` });
    assert.deepEqual(h.graph.onboarding.subscribedApps(wabaId), []);
    assert.equal(unsubscribeCalls(wabaId).length, 1);
  });

  test('when a Page has a Messenger and an Instagram connection, then the Page stays subscribed until both are deleted, also when the Instagram one does not record its Page', async () => {
    const pageId = '771000000031';
    h.graph.onboarding.addPage({ id: pageId, name: 'Florist', instagram: { id: '17841400000000031', username: 'florist' } });
    const page = await openPage(await o.connectLink());
    const authorized = await post(page, '/pages/authorize', { code: h.graph.onboarding.issueUserCode({ pageIds: [pageId] }) });
    assert.equal(authorized.status, 200, JSON.stringify(authorized.json));
    const connected = await post(page, '/pages/connect', { grant: authorized.json.grant, pages: [{ pageId, messenger: true, instagram: true }] });
    assert.equal(connected.status, 200, JSON.stringify(connected.json));
    const byChannel = Object.fromEntries((connected.json.results[0].connected as Json[]).map((c) => [c.channel, c.connectionId as string]));
    const pageToken = (await stored(byChannel.messenger!)).metaToken;
    assert.equal((await o.admin('GET', `/connections/${byChannel.instagram}`)).json.pageId, pageId, 'the Instagram connection records its Page');
    assert.ok(h.graph.onboarding.page(pageId)!.subscribedFields);

    // As if made before the Page was recorded: its Page token says which Page it is (GET /me), and that is kept.
    await db.collection('connections').updateOne({ _id: byChannel.instagram } as Json, { $unset: { pageId: 1 } });
    const messenger = await o.admin('DELETE', `/connections/${byChannel.messenger}`);
    assert.equal(messenger.status, 200, JSON.stringify(messenger.json));
    assert.deepEqual(messenger.json.metaUnsubscribe, { outcome: 'skipped_shared', subscription: `page ${pageId}` });
    assert.ok(h.graph.onboarding.page(pageId)!.subscribedFields, 'Instagram still arrives through the Page');
    assert.equal(unsubscribeCalls(pageId).length, 0);
    assert.equal((await stored(byChannel.instagram!)).pageId, pageId, 'the Page found is recorded');

    const instagram = await o.admin('DELETE', `/connections/${byChannel.instagram}`);
    assert.equal(instagram.status, 200, JSON.stringify(instagram.json));
    assert.deepEqual(instagram.json.metaUnsubscribe, { outcome: 'done', subscription: `page ${pageId}` });
    assert.equal(h.graph.onboarding.page(pageId)!.subscribedFields, undefined, 'the Page no longer sends to the app');
    const calls = unsubscribeCalls(pageId);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.headers.authorization, `Bearer ${pageToken}`, 'with the Page token');
    assert.deepEqual((await auditOf(byChannel.instagram!))?.details, { metaUnsubscribe: 'done', metaSubscription: `page ${pageId}` });
  });

  test('when Meta refuses the unsubscribe (expired token, 190) or the connection has no token, then the connection is still deleted and the answer and audit event say the unsubscribe failed', async () => {
    const page = await openPage(await o.connectLink());
    const a = businessAccount();
    const res = await post(page, '/whatsapp', { code: a.code, event: 'FINISH', wabaId: a.wabaId, phoneNumberId: a.phoneNumberId });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = res.json.connection.id as string;
    h.graph.invalidateToken(tokenOf(a.code));

    const deleted = await o.admin('DELETE', `/connections/${id}`);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
    assert.equal(deleted.json.deleted, true);
    assert.equal(deleted.json.metaUnsubscribe.outcome, 'failed: 190');
    assert.equal(deleted.json.metaUnsubscribe.subscription, `waba ${a.wabaId}`);
    assert.match(deleted.json.metaUnsubscribe.action, new RegExp(`WhatsApp Business Account ${a.wabaId}.*remove this app from that account in Meta Business Settings`));
    assert.equal(unsubscribeCalls(a.wabaId).length, 1, 'Meta was asked once');
    assert.deepEqual(h.graph.onboarding.subscribedApps(a.wabaId), [META_APP_ID]);
    assert.equal((await o.admin('GET', `/connections/${id}`)).status, 404, 'deleted all the same');
    assert.equal(await db.collection('connections').countDocuments({ _id: id } as Json), 0);
    assert.deepEqual((await auditOf(id))?.details, { metaUnsubscribe: 'failed: 190', metaSubscription: `waba ${a.wabaId}` });

    // A disconnected connection (Deauthorize, PARTNER_APP_UNINSTALLED) has no token to ask Meta with.
    const b = businessAccount();
    const res2 = await post(page, '/whatsapp', { code: b.code, event: 'FINISH', wabaId: b.wabaId, phoneNumberId: b.phoneNumberId });
    assert.equal(res2.status, 201, JSON.stringify(res2.json));
    assert.ok(await h.bridge!.connections!.disconnect(res2.json.connection.id));
    const noToken = await o.admin('DELETE', `/connections/${res2.json.connection.id}`);
    assert.equal(noToken.status, 200, JSON.stringify(noToken.json));
    assert.equal(noToken.json.metaUnsubscribe.outcome, 'failed: no_token');
    assert.match(noToken.json.metaUnsubscribe.action, /remove this app/);
    assert.equal(unsubscribeCalls(b.wabaId).length, 0);
    assert.equal((await auditOf(res2.json.connection.id))?.details.metaUnsubscribe, 'failed: no_token');
    assert.ok(!h.logs.some((l) => l.includes(tokenOf(a.code)) || l.includes(tokenOf(b.code))), 'no token in the logs');
    assert.ok(h.logs.some((l) => l.includes('could not unsubscribe the app at Meta') && l.includes('"code":"190"')));
  });

  test('when a tenant is deleted with two numbers of one WABA, then its connector uninstall unsubscribes the WABA once, after the last, and the answer and audit event say so', async () => {
    const other = await startOtherTenantPage();
    const { wabaId, ids } = await signUpTwoNumbers(other);
    const superAdmin = { authorization: `Bearer ${ADMIN_KEY}` };
    const res = await fetch(`${h.baseUrl}/admin/tenants/${other.tenantId}`, { method: 'DELETE', headers: superAdmin });
    assert.equal(res.status, 200);
    const body = await res.json() as Json;
    assert.equal(body.connections, 2);
    assert.deepEqual((body.metaUnsubscribe as Json[]).map((m) => m.outcome), ['skipped_shared', 'done']);
    assert.deepEqual((body.metaUnsubscribe as Json[]).map((m) => m.connectionId).sort(), [...ids].sort());
    assert.equal(unsubscribeCalls(wabaId).length, 1, 'unsubscribed once');
    assert.deepEqual(h.graph.onboarding.subscribedApps(wabaId), []);
    const audit = await fetch(`${h.baseUrl}/admin/audit?action=tenant.delete`, { headers: superAdmin }).then((r) => r.json()) as Json;
    const event = (audit.events as Json[]).find((e) => e.target.id === other.tenantId);
    assert.deepEqual(event?.details, { connections: 2, metaUnsubscribe: `waba ${wabaId}: done` });
  });

  /** Another tenant of the same bridge, with its own installation and page. */
  async function startOtherTenantPage(): Promise<{ cookie: string; state: string; base: string; tenantId: string }> {
    const tenant = await fetch(`${h.baseUrl}/admin/tenants`, { method: 'POST', headers: { authorization: 'Bearer test-admin-key-0123456789abcdef', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Other' }) }).then((r) => r.json()) as Json;
    const call = (path: string, body: unknown) => fetch(`${h.baseUrl}/admin${path}`, { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json()) as Promise<Json>;
    await call('/chatwoot/install', { baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, adminToken: CW_ADMIN_TOKEN });
    return { ...(await openPage((await call('/connect-links', {})).url)), tenantId: tenant.id as string };
  }

  test('when the installation is removed after the link was sent, then the page and its posts say it is gone', async () => {
    const other = await startOtherTenantPage();
    const list = await fetch(`${h.baseUrl}/admin/chatwoot/installations`, { headers: { authorization: 'Bearer test-admin-key-0123456789abcdef' } }).then((r) => r.json()) as Json;
    const last = (list.installations as Json[]).at(-1)!;
    assert.equal((await fetch(`${h.baseUrl}/admin/chatwoot/installations/${last.id}`, { method: 'DELETE', headers: { authorization: 'Bearer test-admin-key-0123456789abcdef' } })).status, 200);
    const res = await post(other, '/pages/authorize', { code: 'whatever' });
    assert.equal(res.status, 410);
    assert.match(res.json.error.message, /Chatwoot is no longer installed/);
    const pageAgain = await fetch(`${h.baseUrl}${other.base}`);
    assert.equal(pageAgain.status, 410);
  });
});
