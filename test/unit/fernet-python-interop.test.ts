/**
 * Interop with Python's `cryptography.fernet`, the reference implementation. The venv is made (once) by
 * test/support/ensure-python-cryptography.sh; if that fails, every test here fails: CI runs the same script.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FernetKey, InvalidFernetToken } from '../../src/crypto/fernet';
import { KeyRing } from '../../src/crypto/keyring';

const ENSURE_SCRIPT = path.resolve(__dirname, '../support/ensure-python-cryptography.sh');
const VECTORS = path.resolve(__dirname, '../../../shared/reference/fernet-spec');
const TEXT = 'Olá, João! Ñandú — 日本語 — 🚀 emoji — Ελληνικά — ﷽';

// One small Python program: reads a JSON request on stdin, answers JSON on stdout.
const PY = String.raw`
import base64, hashlib, json, sys
from cryptography.fernet import Fernet, MultiFernet, InvalidToken
req = json.load(sys.stdin)
op = req["op"]
def f(k): return Fernet(k.encode())
def out(**kw): print(json.dumps(kw))
if op == "encrypt":
    out(token=f(req["key"]).encrypt(req["text"].encode("utf-8")).decode())
elif op == "decrypt":
    out(text=f(req["key"]).decrypt(req["token"].encode(), ttl=req.get("ttl")).decode("utf-8"),
        timestamp=f(req["key"]).extract_timestamp(req["token"]))
elif op == "multi_decrypt":
    m = MultiFernet([f(k) for k in req["keys"]])
    out(text=m.decrypt(req["token"]).decode("utf-8"), timestamp=m.extract_timestamp(req["token"]))
elif op == "rejects":
    try:
        f(req["key"]).decrypt(req["token"])
        out(rejected=False)
    except InvalidToken:
        out(rejected=True)
elif op == "rotate":
    out(token=MultiFernet([f(k) for k in req["keys"]]).rotate(req["token"].encode()).decode())
elif op == "key_ids":
    out(ids=[hashlib.sha256(base64.urlsafe_b64decode(k)).hexdigest()[:8] for k in req["keys"]])
elif op == "generate_key":
    out(key=Fernet.generate_key().decode())
elif op == "verdicts":
    verdicts = []
    for v in req["vectors"]:
        try:
            f(v["secret"]).decrypt_at_time(v["token"], ttl=v["ttl"], current_time=v["now"])
            verdicts.append("accepted")
        except InvalidToken:
            verdicts.append("rejected")
    out(verdicts=verdicts)
`;

// Set up once, on first use. A failure is remembered and rethrown by every test, so each one FAILS
// (a failing before() hook would only report them as cancelled).
let python: { path: string } | { error: Error } | undefined;

function pythonPath(): string {
  python ??= (() => {
    try {
      return { path: ensurePython() };
    } catch (err) {
      return { error: err as Error };
    }
  })();
  if ('error' in python) throw python.error;
  return python.path;
}

function ensurePython(): string {
  try {
    const out = execFileSync('bash', [ENSURE_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    const lines = out.trim().split('\n');
    const last = lines[lines.length - 1];
    assert.ok(last, 'script printed no python path');
    return last;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `Python with cryptography is required for the Fernet interop test and could not be set up by ` +
        `${path.relative(process.cwd(), ENSURE_SCRIPT)}:\n${e.stderr?.trim() || e.message}`,
    );
  }
}

function py<T>(request: Record<string, unknown>): T {
  const out = execFileSync(pythonPath(), ['-c', PY], { input: JSON.stringify(request), encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as T;
}

test('python interop: Python encrypts non-ASCII UTF-8 text, we decrypt it', () => {
  const key = FernetKey.generate();
  const { token } = py<{ token: string }>({ op: 'encrypt', key, text: TEXT });
  const fk = FernetKey.parse(key);
  assert.equal(fk.decrypt(token, { ttlSeconds: 60 }).toString('utf8'), TEXT);
  assert.equal(KeyRing.fromList([FernetKey.generate(), key]).decrypt(token), TEXT);
  assert.ok(Math.abs(fk.timestampOf(token) - Date.now() / 1000) < 60);
});

test('python interop: we encrypt, Python decrypts (with a TTL) and reads the same timestamp', () => {
  const key = FernetKey.generate();
  const now = Math.floor(Date.now() / 1000) - 5;
  const token = FernetKey.parse(key).encrypt(TEXT, { now });
  assert.deepEqual(py({ op: 'decrypt', key, token, ttl: 60 }), { text: TEXT, timestamp: now });
  const ring = KeyRing.fromList([key]);
  assert.equal(py<{ text: string }>({ op: 'decrypt', key, token: ring.encrypt(TEXT).token }).text, TEXT);
});

test('python interop: Python MultiFernet decrypts a token our KeyRing rotated, under the new key, timestamp kept', () => {
  const [oldKey, newKey] = [FernetKey.generate(), FernetKey.generate()];
  const original = FernetKey.parse(oldKey).encrypt(TEXT, { now: 1_700_000_000 });
  const rotated = KeyRing.fromList([newKey, oldKey]).rotate(original);

  assert.deepEqual(py({ op: 'multi_decrypt', keys: [newKey, oldKey], token: rotated }), { text: TEXT, timestamp: 1_700_000_000 });
  assert.deepEqual(py({ op: 'multi_decrypt', keys: [newKey], token: rotated }), { text: TEXT, timestamp: 1_700_000_000 });
  assert.deepEqual(py({ op: 'rejects', key: oldKey, token: rotated }), { rejected: true });
});

test('python interop: Python MultiFernet.rotate output is read by our KeyRing with the same timestamp', () => {
  const [oldKey, newKey] = [FernetKey.generate(), FernetKey.generate()];
  const original = KeyRing.fromList([oldKey]).encrypt(TEXT).token;
  const { token } = py<{ token: string }>({ op: 'rotate', keys: [newKey, oldKey], token: original });
  assert.equal(KeyRing.fromList([newKey]).decrypt(token), TEXT);
  assert.equal(FernetKey.parse(newKey).timestampOf(token), FernetKey.parse(oldKey).timestampOf(original));
});

test('python interop: keys are interchangeable and key ids can be computed in Python', () => {
  const { key: pythonKey } = py<{ key: string }>({ op: 'generate_key' });
  const ourKey = FernetKey.generate();
  const ring = KeyRing.fromList([pythonKey, ourKey]);
  assert.deepEqual(py<{ ids: string[] }>({ op: 'key_ids', keys: [pythonKey, ourKey] }).ids, ring.keyIds);
  assert.equal(py<{ text: string }>({ op: 'decrypt', key: pythonKey, token: ring.encrypt('k').token }).text, 'k');
});

test('python interop: Python and we give the same verdict on every spec vector', () => {
  interface Vector { token: string; now: string; ttl_sec?: number; secret: string }
  const load = (name: string) => JSON.parse(readFileSync(path.join(VECTORS, `${name}.json`), 'utf8')) as Vector[];
  const vectors = [...load('verify'), ...load('invalid')].map((v) => ({
    secret: v.secret,
    token: v.token,
    now: Date.parse(v.now) / 1000,
    ttl: v.ttl_sec ?? 60,
  }));
  const ours = vectors.map((v) => {
    try {
      FernetKey.parse(v.secret).decrypt(v.token, { now: v.now, ttlSeconds: v.ttl });
      return 'accepted';
    } catch (err) {
      assert.ok(err instanceof InvalidFernetToken);
      return 'rejected';
    }
  });
  assert.deepEqual(ours, ['accepted', ...Array<string>(vectors.length - 1).fill('rejected')]);
  assert.deepEqual(py<{ verdicts: string[] }>({ op: 'verdicts', vectors }).verdicts, ours);
});
