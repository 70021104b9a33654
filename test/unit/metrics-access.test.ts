/**
 * Who may read /metrics (src/http/metrics-access.ts): loopback only by default; METRICS_ALLOW_FROM restricts by
 * peer address (CIDRs, IPv4-mapped IPv6 peers included); METRICS_TOKEN by Bearer token; both together, both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressList, metricsAccess } from '../../src/http/metrics-access';
import { loadConfig } from '../../src/config';

const TOKEN = 'metrics-token-0123456789';
const bearer = `Bearer ${TOKEN}`;

test('with neither setting, only loopback peers are served, with or without a token', () => {
  const access = metricsAccess({});
  for (const peer of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(access(peer, undefined), 'allowed', peer);
  for (const peer of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.5', 'fe80::1', undefined]) assert.equal(access(peer, bearer), 'forbidden', String(peer));
});

test('with METRICS_TOKEN, any peer with the exact Bearer token is served; a missing, wrong or non-Bearer token is not', () => {
  const access = metricsAccess({ token: TOKEN });
  assert.equal(access('203.0.113.7', bearer), 'allowed');
  assert.equal(access('203.0.113.7', `bearer   ${TOKEN}`), 'allowed', 'the scheme is case-insensitive');
  assert.equal(access('127.0.0.1', undefined), 'unauthorized', 'loopback needs the token too once one is set');
  for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ', '']) {
    assert.equal(access('203.0.113.7', auth), 'unauthorized', auth);
  }
});

test('with METRICS_ALLOW_FROM, only peers inside the CIDRs are served (IPv4-mapped IPv6 peers match IPv4 rules)', () => {
  const access = metricsAccess({ allowFrom: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'] });
  for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', '2001:db8::1', '192.0.2.7']) assert.equal(access(peer, undefined), 'allowed', peer);
  for (const peer of ['11.0.0.1', '192.0.2.8', '127.0.0.1', '2001:db9::1']) assert.equal(access(peer, undefined), 'forbidden', peer);
});

test('with both, the peer must be allowed and carry the token', () => {
  const access = metricsAccess({ token: TOKEN, allowFrom: ['10.0.0.0/8'] });
  assert.equal(access('10.0.0.1', bearer), 'allowed');
  assert.equal(access('10.0.0.1', undefined), 'unauthorized');
  assert.equal(access('172.16.0.1', bearer), 'forbidden');
});

test('bad CIDRs are refused when the list is built, and by the configuration schema at start-up', () => {
  for (const bad of ['10.0.0.0/33', 'not-an-ip', '10.0.0.0/x', '::1/129']) assert.throws(() => addressList([bad]), /not an IP|bad prefix/, bad);
  const base = { META_APP_SECRET: 'x'.repeat(16), META_VERIFY_TOKEN: 'y'.repeat(16), ADMIN_API_KEY: 'z'.repeat(32), ENCRYPTION_KEYS: `${'A'.repeat(43)}=`, REDIS_URL: 'redis://r:6379', MONGODB_URI: 'mongodb://m:27017/b' };
  assert.deepEqual(loadConfig({ ...base, METRICS_ALLOW_FROM: '10.0.0.0/8, ::1' }).metrics.allowFrom, ['10.0.0.0/8', '::1']);
  assert.throws(() => loadConfig({ ...base, METRICS_ALLOW_FROM: '10.0.0.0/8,nope' }), /METRICS_ALLOW_FROM/);
  assert.throws(() => loadConfig({ ...base, METRICS_TOKEN: 'short' }), (err: Error) => /METRICS_TOKEN is invalid/.test(err.message) && !err.message.includes('short'));
});
