/**
 * A bridge ready for channel onboarding: Meta app and configuration ids set, PUBLIC_URL where it really listens
 * (the inboxes' webhook URLs and the connect links are built from it), the Graph fake knowing the app, and one
 * tenant with the Chatwoot connector installed (no connection yet). `connectLink()` asks the admin API for a
 * connection page link, as an administrator would.
 */
import assert from 'node:assert/strict';
import { ACCOUNT_ID, APP_SECRET, createTenant, startHarness, type Harness } from './harness';
import { freePort } from './processes';

export const META_APP_ID = '1234567890123';
export const ES_CONFIG_ID = '987654321012';
export const PAGES_CONFIG_ID = '555556666677';
export const CW_ADMIN_TOKEN = 'cw-onboarding-admin-token-0123456789';

export interface OnboardingHarness {
  h: Harness;
  tenantId: string;
  tenantKey: string;
  installationId: string;
  connectLink(): Promise<string>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }>;
}

export async function startOnboardingHarness(opts: { env?: Record<string, string>; tenantName?: string } = {}): Promise<OnboardingHarness> {
  const port = await freePort();
  const h = await startHarness({
    env: {
      PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`,
      META_APP_ID, META_CONFIG_ID: ES_CONFIG_ID, META_PAGES_CONFIG_ID: PAGES_CONFIG_ID,
      ...opts.env,
    },
  });
  h.graph.configureApp({ id: META_APP_ID, secret: APP_SECRET });
  h.chatwoot.addAccount({ id: ACCOUNT_ID, token: CW_ADMIN_TOKEN, role: 'administrator' });
  const tenant = await createTenant(h.baseUrl, opts.tenantName ?? 'Onboarding tenant');
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${h.baseUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${tenant.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Record<string, any> : {} };
  };
  const installed = await admin('POST', '/chatwoot/install', { baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, adminToken: CW_ADMIN_TOKEN });
  assert.equal(installed.status, 201, JSON.stringify(installed.json));
  return {
    h, tenantId: tenant.id, tenantKey: tenant.apiKey, installationId: installed.json.installation.id, admin,
    async connectLink() {
      const link = await admin('POST', '/connect-links', {});
      assert.equal(link.status, 201, JSON.stringify(link.json));
      return link.json.url as string;
    },
  };
}
