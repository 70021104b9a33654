/**
 * Connect links and page grants (src/onboarding/connect-links.ts) and the page's cookie over HTTPS: sealed values
 * that expire, cannot be forged, and cannot be taken for one another; `__Host-` and Secure when PUBLIC_URL is https.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { ConnectTokens } from '../../src/onboarding/connect-links';
import { Sealer } from '../../src/queue/sealed';
import { KeyRing } from '../../src/crypto/keyring';
import { FernetKey } from '../../src/crypto/fernet';
import { connectPagesRouter } from '../../src/http/connect-pages';
import { createLogger } from '../../src/log/logger';
import { PassThrough } from 'node:stream';

const tokens = new ConnectTokens(new Sealer(KeyRing.fromList([FernetKey.generate()])), 600);
const link = { tenantId: 'ten_a', installationId: 'cwi_a', createdBy: 'tenant:ten_a' };

test('a connect link opens until it expires, and names its tenant and installation', () => {
  const now = Date.now();
  const { token, link: made } = tokens.mintLink(link, now);
  const opened = tokens.openLink(token, now + 599_000);
  assert.ok('link' in opened);
  assert.deepEqual({ ...opened.link, expiresAt: opened.link.expiresAt.getTime() }, { ...made, expiresAt: now + 600_000 });
  assert.deepEqual(tokens.openLink(token, now + 600_000), { invalid: 'expired' });
});

test('a link that was altered, made with another key, or is a page grant does not open', () => {
  const { token } = tokens.mintLink(link);
  const flipped = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`;
  assert.deepEqual(tokens.openLink(flipped), { invalid: 'unreadable' });
  const other = new ConnectTokens(new Sealer(KeyRing.fromList([FernetKey.generate()])), 600);
  assert.deepEqual(tokens.openLink(other.mintLink(link).token), { invalid: 'unreadable' });
  const grant = tokens.sealGrant('ten_a', { pages: [{ id: '1', name: 'P', token: 'EAAP' }] });
  assert.deepEqual(tokens.openLink(grant), { invalid: 'unreadable' }, 'a grant is not a link');
  assert.equal(tokens.openGrant(token, 'ten_a'), null, 'a link is not a grant');
});

test('a page grant opens for its own tenant only, for ten minutes, with who granted it', () => {
  const now = Date.now();
  const pages = [{ id: '7', name: 'Bakery', token: 'EAAP-x', instagram: { id: '178' } }];
  const grant = tokens.sealGrant('ten_a', { pages, grantedByUserId: '10160000000000042' }, now);
  assert.deepEqual(tokens.openGrant(grant, 'ten_a', now + 599_000), { pages, grantedByUserId: '10160000000000042' });
  assert.ok(!grant.includes('10160000000000042'), 'the user id is not readable in the grant');
  assert.deepEqual(tokens.openGrant(tokens.sealGrant('ten_a', { pages }, now), 'ten_a', now), { pages }, 'a grant without a user id opens without one');
  assert.equal(tokens.openGrant(grant, 'ten_b', now), null);
  assert.equal(tokens.openGrant(grant, 'ten_a', now + 600_000), null);
  assert.ok(!grant.includes('EAAP-x'), 'the Page token is not readable in the grant');
});

test('when PUBLIC_URL is https, then the CSRF cookie is __Host-prefixed and Secure, and the CSP upgrades requests', async () => {
  const { token } = tokens.mintLink(link);
  const app = express();
  app.use(connectPagesRouter({
    publicUrl: 'https://bridge.example.com', graphVersion: 'v26.0', appId: '1234567', embeddedSignupConfigId: '7654321',
    sdkUrl: 'https://connect.facebook.net/en_US/sdk.js', tokens,
    installations: { findById: async () => ({ id: 'cwi_a', tenantId: 'ten_a', baseUrl: 'https://chat.example.com', accountId: 3, adminToken: 'x', createdAt: new Date(), updatedAt: new Date() }) } as never,
    tenants: { findById: async () => ({ id: 'ten_a', name: 'A', createdAt: new Date() }) } as never,
    audit: {} as never,
    signup: async () => { throw new Error('not called'); },
    authorizePages: async () => { throw new Error('not called'); },
    connectPages: async () => { throw new Error('not called'); },
    log: createLogger({ level: 'error', stream: new PassThrough() }),
  }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/connect/${token}`);
    assert.equal(res.status, 200);
    const [cookie, ...more] = res.headers.getSetCookie();
    assert.equal(more.length, 0);
    assert.match(cookie!, /^__Host-connect_state=[\w-]{43}; Max-Age=900; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/);
    assert.ok(!/Domain=/i.test(cookie!), '__Host- cookies carry no Domain');
    assert.match(res.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
    const html = await res.text();
    assert.ok(html.includes('id="connect-whatsapp"'));
    assert.ok(html.includes('data-testid="pages-off"'), 'without META_PAGES_CONFIG_ID the Pages button is replaced by a note');
  } finally {
    server.close();
  }
});
