import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { FernetKey, InvalidFernetKey, InvalidFernetToken, type InvalidFernetReason } from '../../src/crypto/fernet';
import { KeyRing } from '../../src/crypto/keyring';

// The official vectors (github.com/fernet/spec; also shipped by pyca/cryptography). The repo is cloned beside shared/.
const VECTORS = path.resolve(__dirname, '../../../shared/reference/fernet-spec');

interface GenerateVector { token: string; now: string; iv: number[]; src: string; secret: string }
interface VerifyVector { token: string; now: string; ttl_sec: number; src: string; secret: string }
interface InvalidVector { desc: string; token: string; now: string; ttl_sec: number; secret: string }

function load<T>(name: string): T[] {
  const vectors = JSON.parse(readFileSync(path.join(VECTORS, `${name}.json`), 'utf8')) as T[];
  assert.ok(vectors.length > 0, `${name}.json has no vectors`);
  return vectors;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

// Why each invalid vector must fail. "incorrect IV" carries a valid HMAC over the altered IV, so it is the
// CBC/PKCS7 check, not the HMAC, that must catch it.
const expectedReason: Record<string, InvalidFernetReason> = {
  'incorrect mac': 'signature',
  'too short': 'malformed',
  'invalid base64': 'malformed',
  'payload size not multiple of block size': 'malformed',
  'payload padding error': 'padding',
  'far-future TS (unacceptable clock skew)': 'future',
  'expired TTL': 'expired',
  'incorrect IV (causes padding error)': 'padding',
};

const isInvalidToken = (reason?: InvalidFernetReason) => (err: unknown): boolean => {
  assert.ok(err instanceof InvalidFernetToken, `expected InvalidFernetToken, got ${String(err)}`);
  if (reason !== undefined) assert.equal(err.reason, reason);
  return true;
};

for (const v of load<GenerateVector>('generate')) {
  test(`spec generate: ${v.src}`, () => {
    const key = FernetKey.parse(v.secret);
    const token = key.encrypt(v.src, { now: seconds(v.now), iv: Buffer.from(v.iv) });
    assert.equal(token, v.token);
  });
}

for (const v of load<VerifyVector>('verify')) {
  test(`spec verify: ${v.src}`, () => {
    const key = FernetKey.parse(v.secret);
    const plain = key.decrypt(v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec });
    assert.equal(plain.toString('utf8'), v.src);
  });
}

const invalid = load<InvalidVector>('invalid');
test('spec invalid: every vector has a known expected reason', () => {
  assert.deepEqual(invalid.map((v) => v.desc).sort(), Object.keys(expectedReason).sort());
});

for (const v of invalid) {
  test(`spec invalid: ${v.desc}`, () => {
    const key = FernetKey.parse(v.secret);
    assert.throws(() => key.decrypt(v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec }), isInvalidToken(expectedReason[v.desc]));
  });
}

test('spec invalid: the error names a reason but carries no token or key', () => {
  const v = invalid[0]!;
  const err = (() => {
    try {
      FernetKey.parse(v.secret).decrypt(v.token, { now: seconds(v.now), ttlSeconds: v.ttl_sec });
    } catch (e) {
      return e as Error;
    }
    assert.fail('vector was accepted');
  })();
  assert.equal(err.name, 'InvalidFernetToken');
  assert.ok(!err.message.includes(v.token.slice(0, 12)) && !err.message.includes(v.secret.slice(0, 12)), err.message);
});

test('timestamp is only checked when a TTL or a clock skew is asked for (as in Python)', () => {
  const key = FernetKey.parse(FernetKey.generate());
  const token = key.encrypt('later', { now: 2_000_000_000 });
  assert.equal(key.decrypt(token, { now: 1_000_000_000 }).toString(), 'later');
  assert.throws(() => key.decrypt(token, { now: 1_000_000_000, maxClockSkewSeconds: 60 }), isInvalidToken('future'));
  assert.equal(key.decrypt(token, { now: 2_000_000_000 - 60, ttlSeconds: 10 }).toString(), 'later');
  assert.throws(() => key.decrypt(token, { now: 2_000_000_000 - 61, ttlSeconds: 10 }), isInvalidToken('future'));
  assert.equal(key.decrypt(token, { now: 2_000_000_010, ttlSeconds: 10 }).toString(), 'later');
  assert.throws(() => key.decrypt(token, { now: 2_000_000_011, ttlSeconds: 10 }), isInvalidToken('expired'));
});

test('round trip: binary, empty and non-ASCII payloads, timestampOf', () => {
  const key = FernetKey.parse(FernetKey.generate());
  const binary = Buffer.from([0, 255, 128, 10, 13]);
  assert.deepEqual(key.decrypt(key.encrypt(binary)), binary);
  assert.equal(key.decrypt(key.encrypt('')).length, 0);
  assert.equal(key.decrypt(key.encrypt('olá 🌍 ñ 日本')).toString('utf8'), 'olá 🌍 ñ 日本');
  assert.equal(key.timestampOf(key.encrypt('x', { now: 1234567890 })), 1234567890);
  assert.throws(() => FernetKey.parse(FernetKey.generate()).timestampOf(key.encrypt('x')), isInvalidToken('signature'));
});

test('tokens are padded base64url and a random IV makes each one different', () => {
  const key = FernetKey.parse(FernetKey.generate());
  const a = key.encrypt('same', { now: 1 });
  const b = key.encrypt('same', { now: 1 });
  assert.notEqual(a, b);
  assert.match(a, /^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
  assert.equal(a.length % 4, 0);
});

test('non-canonical spellings of a valid token are rejected', () => {
  const v = load<VerifyVector>('verify')[0]!;
  const key = FernetKey.parse(v.secret);
  const opts = { now: seconds(v.now), ttlSeconds: v.ttl_sec };
  for (const spelling of [v.token.replace(/=+$/, ''), v.token.replace(/_/g, '/').replace(/-/g, '+'), ` ${v.token}`, `${v.token}\n`]) {
    if (spelling === v.token) continue;
    assert.throws(() => key.decrypt(spelling, opts), isInvalidToken('malformed'), JSON.stringify(spelling));
  }
});

test('tampering with any byte is caught', () => {
  const key = FernetKey.parse(FernetKey.generate());
  const raw = Buffer.from(key.encrypt('secret value'), 'base64url');
  for (let i = 0; i < raw.length; i++) {
    const bad = Buffer.from(raw);
    bad[i] = bad[i]! ^ 0x01;
    const token = bad.toString('base64url').padEnd(Math.ceil(bad.toString('base64url').length / 4) * 4, '=');
    assert.throws(() => key.decrypt(token), isInvalidToken(), `byte ${i}`);
  }
});

test('FernetKey.parse rejects malformed keys without echoing them', () => {
  const good = FernetKey.generate();
  assert.match(good, /^[A-Za-z0-9_-]{43}=$/);
  for (const bad of ['', good.slice(0, 43), good.slice(1), `${good}AAAA`, good.replace(/^./, '+'), Buffer.alloc(16).toString('base64url')]) {
    assert.throws(
      () => FernetKey.parse(bad),
      (err: unknown) => err instanceof InvalidFernetKey && (bad.length < 8 || !err.message.includes(bad.slice(0, 8))),
      JSON.stringify(bad),
    );
  }
});

test('options that make no sense are refused', () => {
  const key = FernetKey.parse(FernetKey.generate());
  assert.throws(() => key.encrypt('x', { iv: Buffer.alloc(8) }), RangeError);
  assert.throws(() => key.encrypt('x', { now: -1 }), RangeError);
  assert.throws(() => key.decrypt(key.encrypt('x'), { ttlSeconds: Number.NaN }), RangeError);
});

// ---------------------------------------------------------------------------------------------------------
// KeyRing

const [k1, k2, k3] = [FernetKey.generate(), FernetKey.generate(), FernetKey.generate()];

test('key ring: the first key encrypts and its id is recorded', () => {
  const ring = KeyRing.fromList([k1, k2]);
  const { token, keyId } = ring.encrypt('api-token-123');
  assert.equal(keyId, ring.primaryKeyId);
  assert.equal(keyId, FernetKey.parse(k1).id);
  assert.equal(FernetKey.parse(k1).decrypt(token).toString(), 'api-token-123');
  assert.throws(() => FernetKey.parse(k2).decrypt(token), isInvalidToken('signature'));
  assert.deepEqual(ring.keyIds, [FernetKey.parse(k1).id, FernetKey.parse(k2).id]);
});

test('key ring: any key decrypts', () => {
  const ring = KeyRing.fromList([k1, k2, k3]);
  for (const k of [k1, k2, k3]) {
    assert.equal(ring.decrypt(KeyRing.fromList([k]).encrypt('café ✓').token), 'café ✓');
  }
});

test('key ring: a token from an unknown key is refused', () => {
  const token = KeyRing.fromList([k3]).encrypt('x').token;
  assert.throws(() => KeyRing.fromList([k1, k2]).decrypt(token), isInvalidToken('signature'));
  assert.throws(() => KeyRing.fromList([k1, k2]).rotate(token), isInvalidToken('signature'));
  assert.throws(() => KeyRing.fromList([k1]).decrypt('not a token'), isInvalidToken('malformed'));
});

test('key ring: rotate re-encrypts under the first key and keeps the timestamp', () => {
  const old = FernetKey.parse(k2);
  const stamped = old.encrypt('rotate me', { now: 1_600_000_000 });
  const ring = KeyRing.fromList([k1, k2]);
  const rotated = ring.rotate(stamped);
  assert.notEqual(rotated, stamped);
  assert.equal(FernetKey.parse(k1).decrypt(rotated).toString(), 'rotate me');
  assert.throws(() => old.decrypt(rotated), isInvalidToken('signature'));
  assert.equal(FernetKey.parse(k1).timestampOf(rotated), 1_600_000_000);
  // Rotating a token that is already under the primary key is harmless.
  assert.equal(FernetKey.parse(k1).timestampOf(ring.rotate(rotated)), 1_600_000_000);
});

test('key ring: needsRotation is true for every id but the primary', () => {
  const ring = KeyRing.fromList([k1, k2]);
  assert.equal(ring.needsRotation(ring.primaryKeyId), false);
  assert.equal(ring.needsRotation(FernetKey.parse(k2).id), true);
  assert.equal(ring.needsRotation('deadbeef'), true);
});

test('key ring: key ids are 8 hex digits, stable, and not the key', () => {
  const id = KeyRing.fromList([k1]).primaryKeyId;
  assert.match(id, /^[0-9a-f]{8}$/);
  assert.equal(KeyRing.fromList([k1, k2]).primaryKeyId, id);
  assert.ok(!k1.includes(id) && !Buffer.from(k1, 'base64url').toString('hex').includes(id));
  // A fixed id for the spec vector key, computed in Python: sha256(urlsafe_b64decode(key)).hexdigest()[:8].
  assert.equal(FernetKey.parse('cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=').id, 'cbeb362f');
});

test('key ring: malformed key lists fail with a message that names the problem, not the key', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /at least one Fernet key; the list is empty/],
    [[k1, 'not-a-key'], /key #2 of 2 is malformed: .*got 9 characters/],
    [[k1.slice(0, 40)], /key #1 of 1 is malformed/],
    [[k1, k2, ` ${k3}`], /key #3 of 3 is malformed/],
    [[k1, k2, k1], /key #3 of 3 repeats key #1/],
  ];
  for (const [keys, message] of cases) {
    assert.throws(
      () => KeyRing.fromList(keys),
      (err: unknown) => {
        assert.ok(err instanceof InvalidFernetKey);
        assert.match(err.message, message);
        for (const k of [k1, k2, k3]) assert.ok(!err.message.includes(k.slice(0, 16)), 'message leaks key material');
        return true;
      },
    );
  }
});

test('key ring: non-UTF-8 plaintext is refused, a BOM is kept', () => {
  const ring = KeyRing.fromList([k1]);
  const key = FernetKey.parse(k1);
  assert.throws(() => ring.decrypt(key.encrypt(Buffer.from([0xff, 0xfe, 0x00]))), isInvalidToken('encoding'));
  assert.equal(ring.decrypt(key.encrypt('\uFEFFbom')), '\uFEFFbom');
});

test('key ring and keys do not show key material when logged or serialised', () => {
  const ring = KeyRing.fromList([k1, k2]);
  const raw = [k1, k2].flatMap((k) => {
    const bytes = Buffer.from(k, 'base64url');
    return [k.slice(0, 16), bytes.subarray(0, 8).toString('hex'), bytes.subarray(16, 24).toString('hex')];
  });
  const shown = [inspect(ring, { depth: 10, showHidden: true }), inspect(FernetKey.parse(k1), { depth: 10, showHidden: true }), JSON.stringify(ring), JSON.stringify(FernetKey.parse(k1))].join('\n');
  for (const fragment of raw) assert.ok(!shown.includes(fragment), 'key material visible');
});
