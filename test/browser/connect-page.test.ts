/**
 * The channel connection page in real headless Chromium (Debian's chromium via playwright-core), against the real
 * bridge, the Graph and Chatwoot fakes, and a fake Facebook SDK (test/fakes/facebook-sdk.ts: what it cannot prove
 * is written there). Facebook's login window is served for https://www.facebook.com by request routing, so its
 * messages really come from that origin through window.opener; nothing else leaves the machine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import { ACCOUNT_ID, APP_SECRET } from '../support/harness';
import { launchChromium } from '../support/browser';
import { ES_CONFIG_ID, META_APP_ID, PAGES_CONFIG_ID, startOnboardingHarness, type OnboardingHarness } from '../support/onboarding';
import { startFakeFacebookSdk, type FakeFacebookSdk, type LoginScenario } from '../fakes/facebook-sdk';

describe('channel connection page in Chromium', () => {
  let o: OnboardingHarness;
  let sdk: FakeFacebookSdk;
  let browser: Browser;
  before(async () => {
    // Its logins carry a signedRequest signed with the app secret the bridge verifies with.
    sdk = await startFakeFacebookSdk({ appSecret: APP_SECRET });
    o = await startOnboardingHarness({ env: { FACEBOOK_SDK_URL: sdk.sdkUrl } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await o?.h.stop();
    await sdk?.close();
  });

  /** A browser context where Facebook's login window plays `scenario`, and nothing but loopback is reachable. */
  async function contextWith(scenario: LoginScenario): Promise<{ context: BrowserContext; dialogs: URL[] }> {
    const context = await browser.newContext();
    const dialogs: URL[] = [];
    await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
    // Registered last, so it wins over the catch-all (Playwright runs matching routes newest first).
    await context.route('https://www.facebook.com/**', (route) => {
      dialogs.push(new URL(route.request().url()));
      return route.fulfill({ status: 200, contentType: 'text/html', body: sdk.dialogHtml(scenario) });
    });
    return { context, dialogs };
  }

  test('when "Connect WhatsApp" is clicked and Embedded Signup finishes, then the connection is stored with who signed up, the app subscribed and the Chatwoot inbox created, with no cookie but the CSRF one', async () => {
    const { h } = o;
    const wabaId = '402290129349901';
    const phoneNumberId = '506540352249901';
    h.graph.onboarding.addBusinessAccount({ id: wabaId, numbers: [{ id: phoneNumberId, displayPhoneNumber: '+1 555-010-7777', verifiedName: 'Corner Shop' }] });
    const code = h.graph.onboarding.issueBusinessCode({ wabaIds: [wabaId] });
    const { context, dialogs } = await contextWith({
      session: { type: 'WA_EMBEDDED_SIGNUP', event: 'FINISH', data: { phone_number_id: phoneNumberId, waba_id: wabaId, business_id: '1000000000001' }, version: '3' },
      code,
      userId: '10160000000000301',
    });
    try {
      const page = await context.newPage();
      const posted: string[] = [];
      page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/whatsapp')) posted.push(r.postData() ?? ''); });
      await page.goto(await o.connectLink());
      await page.locator('#connect-whatsapp:enabled').click({ timeout: 20_000 });
      const result = page.locator('[data-testid="whatsapp-result"]');
      await result.waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('#error').innerText(), '');
      assert.match(await result.innerText(), /^Connected WhatsApp number …7777 \(Corner Shop\): its messages now go to the Chatwoot inbox "WhatsApp Corner Shop …7777"\. It is registered for the Cloud API\.$/);
      assert.match(await page.locator('[data-testid="whatsapp-pin"]').innerText(), /PIN is now \d{6}\. Keep it/);

      // Facebook's window was opened the way Embedded Signup needs it.
      assert.equal(dialogs.length, 1);
      const q = dialogs[0]!.searchParams;
      assert.equal(dialogs[0]!.pathname, `/${h.env.META_GRAPH_API_VERSION}/dialog/oauth`);
      assert.deepEqual([q.get('client_id'), q.get('config_id'), q.get('response_type'), q.get('override_default_response_type'), q.get('cookie')],
        [META_APP_ID, ES_CONFIG_ID, 'code', 'true', 'false']);
      assert.deepEqual(JSON.parse(q.get('extras')!), { setup: {}, sessionInfoVersion: '3' });

      // Stored, subscribed, inbox made.
      const connections = (await o.admin('GET', '/connections')).json.connections as Array<Record<string, any>>;
      const conn = connections.find((c) => c.businessId === phoneNumberId);
      assert.ok(conn, 'the connection is stored');
      assert.equal(conn.wabaId, wabaId);
      assert.deepEqual(h.graph.onboarding.subscribedApps(wabaId), [META_APP_ID]);
      assert.equal(h.graph.onboarding.phoneNumber(phoneNumberId)!.status, 'CONNECTED');
      const inbox = h.chatwoot.updateInbox(ACCOUNT_ID, conn.platform.inboxId, {});
      assert.equal(inbox.name, 'WhatsApp Corner Shop …7777');
      assert.equal(inbox.webhookUrl, `${h.baseUrl}/webhooks/chatwoot/${conn.id}`);
      // The page posted the login's signedRequest (never the bare userID), and the bridge kept whom it names.
      assert.equal(posted.length, 1);
      const body = JSON.parse(posted[0]!) as Record<string, unknown>;
      assert.equal(typeof body.signedRequest, 'string');
      assert.equal('userID' in body || 'userId' in body, false);
      assert.equal((await h.bridge!.connections!.findById(conn.id))!.grantedByUserId, '10160000000000301');

      // The page set one cookie, the CSRF state, and nothing else did.
      const cookies = await context.cookies();
      assert.deepEqual(cookies.map((c) => c.name), ['connect_state']);
      assert.equal(cookies[0]!.httpOnly, true);
      assert.equal(cookies[0]!.sameSite, 'Strict');
      assert.equal(cookies[0]!.path, '/');
      assert.ok(cookies[0]!.expires > Date.now() / 1000 && cookies[0]!.expires <= Date.now() / 1000 + 15 * 60 + 5, 'short-lived');
    } finally {
      await context.close();
    }
  });

  test('when a look-alike signup message comes from another origin than facebook.com, then the page ignores it', async () => {
    const wabaId = '402290129349902';
    o.h.graph.onboarding.addBusinessAccount({ id: wabaId, numbers: [{ id: '506540352249902', displayPhoneNumber: '+1 555-010-8888', verifiedName: 'Decoy' }] });
    // Facebook's window gives the code but (this time) no session info; the page itself posts a forged one.
    const { context } = await contextWith({ code: o.h.graph.onboarding.issueBusinessCode({ wabaIds: [wabaId] }) });
    try {
      const page = await context.newPage();
      await page.goto(await o.connectLink());
      await page.locator('#connect-whatsapp:enabled').click({ timeout: 20_000 });
      await page.evaluate(`window.postMessage(JSON.stringify({ type: 'WA_EMBEDDED_SIGNUP', event: 'FINISH', data: { phone_number_id: '506540352249902', waba_id: '${wabaId}' } }), '*')`);
      await page.locator('#error', { hasText: 'Facebook did not say' }).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('#error').innerText(), 'Facebook did not say which WhatsApp account and number were chosen. Click "Connect WhatsApp" again.');
      assert.deepEqual(o.h.graph.onboarding.subscribedApps(wabaId), [], 'nothing was done with the forged ids');
    } finally {
      await context.close();
    }
  });

  test('when the Facebook window is closed before the end, then the page says so in plain words and nothing is connected', async () => {
    const before = (await o.admin('GET', '/connections')).json.connections.length as number;
    const { context } = await contextWith({ session: { type: 'WA_EMBEDDED_SIGNUP', event: 'CANCEL', data: { current_step: 'PHONE_NUMBER_SETUP' } } });
    try {
      const page = await context.newPage();
      await page.goto(await o.connectLink());
      await page.locator('#connect-whatsapp:enabled').click({ timeout: 20_000 });
      await page.locator('#error', { hasText: 'closed' }).waitFor({ timeout: 20_000 });
      assert.equal(await page.locator('#error').innerText(), 'The Facebook window was closed at the step "PHONE_NUMBER_SETUP". Nothing was connected; click the button to start again.');
      assert.equal(await page.locator('#connect-whatsapp').isEnabled(), true, 'the admin can try again');
      assert.equal((await o.admin('GET', '/connections')).json.connections.length, before);
    } finally {
      await context.close();
    }
  });

  test('when "Connect Pages" is clicked and Pages are chosen, then each gets its connections and the page lists them', async () => {
    const { h } = o;
    h.graph.onboarding.addPage({ id: '881000000001', name: 'Flower Shop', instagram: { id: '17841400000009901', username: 'flowers' } });
    const code = h.graph.onboarding.issueUserCode({ pageIds: ['881000000001'] });
    const { context, dialogs } = await contextWith({ code });
    try {
      const page = await context.newPage();
      await page.goto(await o.connectLink());
      await page.locator('#connect-pages:enabled').click({ timeout: 20_000 });
      await page.locator('#page-choice:visible').waitFor({ timeout: 20_000 });
      assert.equal(new URL(dialogs[0]!.href).searchParams.get('config_id'), PAGES_CONFIG_ID);
      assert.equal(await page.locator('input[data-page="881000000001"]').count(), 2, 'Messenger and Instagram offered');
      await page.locator('#connect-selected').click();
      const result = page.locator('[data-testid="page-result"]');
      await result.waitFor({ timeout: 20_000 });
      assert.equal(await result.innerText(), 'Flower Shop: Messenger → Chatwoot inbox "Messenger Flower Shop", Instagram → Chatwoot inbox "Instagram Flower Shop".');
      const connections = (await o.admin('GET', '/connections')).json.connections as Array<Record<string, any>>;
      assert.ok(connections.some((c) => c.channel === 'messenger' && c.businessId === '881000000001'));
      assert.ok(connections.some((c) => c.channel === 'instagram' && c.businessId === '17841400000009901'));
      assert.ok(h.graph.onboarding.page('881000000001')!.subscribedFields?.includes('messages'));
      assert.deepEqual((await context.cookies()).map((c) => c.name), ['connect_state']);
    } finally {
      await context.close();
    }
  });
});
