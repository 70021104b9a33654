/**
 * Meta's signed_request (Data Deletion Request and Deauthorize callbacks): the HMAC is checked on the payload as
 * sent, in constant time, before anything is read from it; every defect is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseSignedRequest, signRequest, SignedRequestError } from '../../src/channels/meta/signed-request';

const SECRET = 'app-secret-for-signed-requests';

/** Signed by hand, the way Meta's PHP sample describes it, not with the module under test. */
function byHand(payload: unknown, secret = SECRET, opts: { pad?: boolean } = {}): string {
  let encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  let sig = createHmac('sha256', secret).update(encoded).digest('base64url');
  if (opts.pad) {
    // Some senders keep the '=' padding: the signature covers the payload string exactly as sent.
    encoded += '='.repeat((4 - (encoded.length % 4)) % 4);
    sig = createHmac('sha256', secret).update(encoded).digest('base64url') + '=';
  }
  return `${sig}.${encoded}`;
}

const payload = { algorithm: 'HMAC-SHA256', expires: 1_291_840_400, issued_at: 1_291_836_800, user_id: '218471' };

test('a request Meta signed with the app secret is read: the app-scoped user id and when it was issued', () => {
  assert.deepEqual(parseSignedRequest(byHand(payload), SECRET), { userId: '218471', profileId: undefined, issuedAt: 1_291_836_800 });
  assert.deepEqual(parseSignedRequest(byHand(payload, SECRET, { pad: true }), SECRET).userId, '218471');
  assert.equal(parseSignedRequest(byHand({ ...payload, user_id: 218471, algorithm: 'hmac-sha256' }), SECRET).userId, '218471');
  assert.equal(signRequest(payload, SECRET), byHand(payload));
});

test('an old-style Page uninstall names the Page (profile_id) with user_id 0', () => {
  const parsed = parseSignedRequest(byHand({ algorithm: 'HMAC-SHA256', issued_at: 1, profile_id: '380374449010653', user_id: 0, user: { country: 'de' } }), SECRET);
  assert.deepEqual([parsed.userId, parsed.profileId], [undefined, '380374449010653']);
});

const refused: Array<[string, string]> = [
  ['another secret signed it', byHand(payload, 'not-the-app-secret')],
  ['the payload was changed after signing', (() => {
    const [sig] = byHand(payload).split('.');
    return `${sig}.${Buffer.from(JSON.stringify({ ...payload, user_id: '999' })).toString('base64url')}`;
  })()],
  ['one signature character flipped', (() => {
    const good = byHand(payload);
    return (good[0] === 'A' ? 'B' : 'A') + good.slice(1);
  })()],
  ['a truncated signature', (() => { const [sig, body] = byHand(payload).split('.'); return `${sig!.slice(0, 20)}.${body}`; })()],
  ['no signature', `.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`],
  ['no payload', `${byHand(payload).split('.')[0]}.`],
  ['no dot at all', 'abcdef'],
  ['not base64url', 'ab$cd.ef!gh'],
  ['the algorithm is not HMAC-SHA256', byHand({ ...payload, algorithm: 'none' })],
  ['no issued_at', byHand({ algorithm: 'HMAC-SHA256', user_id: '218471' })],
  ['no user and no Page', byHand({ algorithm: 'HMAC-SHA256', issued_at: 1, user_id: 0 })],
  ['a user id that is not a Facebook id', byHand({ ...payload, user_id: '../../etc' })],
  ['a payload that is not JSON', (() => {
    const encoded = Buffer.from('not json').toString('base64url');
    return `${createHmac('sha256', SECRET).update(encoded).digest('base64url')}.${encoded}`;
  })()],
  ['a payload that is a JSON array', byHand([payload])],
  ['far too long', `${'a'.repeat(9000)}.${'b'.repeat(10)}`],
];

for (const [why, signed] of refused) {
  test(`refused when ${why}`, () => {
    assert.throws(() => parseSignedRequest(signed, SECRET), SignedRequestError);
  });
}

test('refused when the field is missing or not a string', () => {
  for (const value of [undefined, '', 42, ['a.b'], { signed_request: 'a.b' }]) {
    assert.throws(() => parseSignedRequest(value, SECRET), SignedRequestError);
  }
});
