/**
 * The token state machine's decisions (src/tokens/token-policy.ts) and the reading of debug_token answers
 * (src/tokens/token-inspector.ts), as tables over the shapes Meta returns.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { factsFromDebugToken, type TokenFacts } from '../../src/tokens/token-inspector';
import { coverageProblem, describeProblem, healthAfterRenewal, outlasts, verdictFor } from '../../src/tokens/token-policy';

const NOW = Date.parse('2026-11-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;

function facts(over: Partial<TokenFacts> = {}): TokenFacts {
  return { kind: 'user', valid: true, expiresAt: new Date(NOW + 30 * DAY), dataAccessExpiresAt: null, scopes: [], granularScopes: [], ...over };
}

describe('debug_token answers', () => {
  test('when Meta describes a valid user token, then kind, dates, scopes and granular target ids are read', () => {
    // Shape of developers.facebook.com/docs/graph-api/reference/debug_token (and the Threads example of the same endpoint).
    const f = factsFromDebugToken({ data: {
      app_id: '138483919580948', type: 'USER', expires_at: 1752254132, data_access_expires_at: 1754846089, is_valid: true,
      scopes: ['whatsapp_business_management', 'whatsapp_business_messaging', 'public_profile'],
      granular_scopes: [{ scope: 'whatsapp_business_messaging', target_ids: ['102290129340398'] }, { scope: 'public_profile' }],
      user_id: '10224437288950000',
    } });
    assert.equal(f.kind, 'user');
    assert.equal(f.valid, true);
    assert.equal(f.expiresAt?.toISOString(), '2025-07-11T17:15:32.000Z');
    assert.equal(f.dataAccessExpiresAt?.toISOString(), '2025-08-10T17:14:49.000Z');
    assert.deepEqual(f.granularScopes, [{ scope: 'whatsapp_business_messaging', targetIds: ['102290129340398'] }, { scope: 'public_profile', targetIds: [] }]);
    assert.equal(f.appId, '138483919580948');
    assert.equal(f.problem, undefined);
  });

  test('when expires_at is 0, then the token never expires; unknown types read as unknown', () => {
    const f = factsFromDebugToken({ data: { type: 'SYSTEM_USER', expires_at: 0, is_valid: true } });
    assert.equal(f.kind, 'system_user');
    assert.equal(f.expiresAt, null);
    assert.equal(factsFromDebugToken({ data: { type: 'SOMETHING_NEW', is_valid: true } }).kind, 'unknown');
  });

  test('when Meta says is_valid false with an error, then the problem carries code, subcode and message', () => {
    const f = factsFromDebugToken({ data: { type: 'USER', is_valid: false, expires_at: 1408262400,
      error: { code: 190, subcode: 463, message: 'Error validating access token: Session has expired on Sunday, 17-Aug-14 01:00:00 PDT.' } } });
    assert.equal(f.valid, false);
    assert.deepEqual(f.problem, { code: 190, subcode: 463, message: 'Error validating access token: Session has expired on Sunday, 17-Aug-14 01:00:00 PDT.' });
    assert.equal(factsFromDebugToken({}).valid, false, 'an empty answer is not taken as valid');
  });
});

describe('verdicts', () => {
  const cases: Array<[string, Partial<TokenFacts>, string, RegExp?]> = [
    ['never expires', { kind: 'system_user', expiresAt: null }, 'keep'],
    ['30 days left', { expiresAt: new Date(NOW + 30 * DAY) }, 'keep'],
    ['5 days left, user token', { expiresAt: new Date(NOW + 5 * DAY) }, 'renew'],
    ['5 days left, expiring system-user token', { kind: 'system_user', expiresAt: new Date(NOW + 5 * DAY) }, 'renew'],
    ['5 days left, Page token', { kind: 'page', expiresAt: new Date(NOW + 5 * DAY) }, 'expiring', /2026-11-06 and Meta does not renew page tokens.*never expires/],
    ['exactly at the window edge', { expiresAt: new Date(NOW + 10 * DAY) }, 'renew'],
    ['expired', { expiresAt: new Date(NOW - 1000) }, 'needs_reauth', /expired on 2026-11-01/],
    ['invalid: password changed', { valid: false, problem: { code: 190, subcode: 460, message: 'x' } }, 'needs_reauth', /changed their password.*code 190\/460/],
    ['invalid: no subcode', { valid: false, problem: { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' } }, 'needs_reauth', /Meta says: Invalid OAuth access token/],
  ];
  for (const [name, over, action, reason] of cases) {
    test(`when the token is ${name}, then ${action}`, () => {
      const v = verdictFor(facts(over), NOW, 10);
      assert.equal(v.action, action);
      if (reason) assert.match((v as { reason: string }).reason, reason);
    });
  }

  test('when a renewal returns a token, then only a later expiry counts, and health follows the window', () => {
    const old = new Date(NOW + 5 * DAY);
    assert.equal(outlasts(new Date(NOW + 60 * DAY), old), true);
    assert.equal(outlasts(old, old), false, 'the same expiry is no renewal');
    assert.equal(outlasts(undefined, old), false, 'unknown is no renewal');
    assert.equal(outlasts(null, old), true, 'never expiring outlasts anything');
    assert.equal(healthAfterRenewal(new Date(NOW + 60 * DAY), NOW, 10), 'ok');
    assert.equal(healthAfterRenewal(new Date(NOW + 6 * DAY), NOW, 10), 'expiring');
    assert.equal(healthAfterRenewal(null, NOW, 10), 'ok');
  });

  test('when Meta names a problem, then the reason says what to do and never more than 200 characters of Meta text', () => {
    assert.match(describeProblem({ code: 190, subcode: 463, message: 'Session has expired' }), /the token expired, code 190\/463\): reconnect the account/);
    assert.match(describeProblem({ code: 190, subcode: 458, message: '' }), /app was removed/);
    assert.ok(describeProblem({ message: 'x'.repeat(1000) }).length < 400);
  });
});

describe('coverage of a replacement token', () => {
  const wa = { channel: 'whatsapp' as const, businessId: '106540352242922', wabaId: '102290129340398' };
  const cases: Array<[string, Pick<ConnectionLike, 'channel' | 'businessId' | 'wabaId'>, Partial<TokenFacts>, RegExp | undefined]> = [
    ['no scopes listed (admin system user)', wa, {}, undefined],
    ['the right WABA', wa, { scopes: ['whatsapp_business_messaging'], granularScopes: [{ scope: 'whatsapp_business_messaging', targetIds: ['102290129340398', '1'] }] }, undefined],
    ['granted without target ids', wa, { scopes: ['whatsapp_business_messaging'], granularScopes: [{ scope: 'whatsapp_business_messaging', targetIds: [] }] }, undefined],
    ['another WABA', wa, { scopes: ['whatsapp_business_messaging'], granularScopes: [{ scope: 'whatsapp_business_messaging', targetIds: ['999'] }] }, /another account, not WhatsApp Business Account 102290129340398/],
    ['missing permission', wa, { scopes: ['whatsapp_business_management'] }, /lacks the whatsapp_business_messaging permission/],
    ['a Page token for another Page', { channel: 'messenger', businessId: '111' }, { scopes: ['pages_messaging'], granularScopes: [{ scope: 'pages_messaging', targetIds: ['222', '333'] }] }, /other accounts, not Page 111/],
    ['Instagram with instagram_manage_messages', { channel: 'instagram', businessId: '178' }, { scopes: ['instagram_manage_messages'], granularScopes: [{ scope: 'instagram_manage_messages', targetIds: ['999'] }] }, undefined],
  ];
  for (const [name, conn, over, problem] of cases) {
    test(`when the token is ${name}, then ${problem ? 'refused' : 'accepted'}`, () => {
      const got = coverageProblem(conn, facts(over));
      if (problem) assert.match(got ?? '', problem);
      else assert.equal(got, undefined);
    });
  }
});

interface ConnectionLike {
  channel: 'whatsapp' | 'messenger' | 'instagram';
  businessId: string;
  wabaId?: string;
}
