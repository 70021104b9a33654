/**
 * Key rotation end to end, with real processes: secrets sealed under key 1; `keys rotate` with [key 2, key 1]
 * moves every sealed field (each one in SEALED_FIELDS), is resumable and idempotent; afterwards key 2 alone
 * opens everything, a bridge with only key 1 refuses to start with a clear line, and one with only key 2 works.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import { ACCOUNT_ID, ADMIN_KEY, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID, createConnection, eventually, harnessEnv, signedPost } from '../support/harness';
import { startFakeChatwoot } from '../fakes/chatwoot';
import { startFakeGraph } from '../fakes/graph';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { startBridgeProcess, type BridgeProcess } from '../support/processes';
import { runCli } from '../support/cli';
import { KeyRing } from '../../src/crypto/keyring';
import { FernetKey } from '../../src/crypto/fernet';
import { SEALED_FIELDS } from '../../src/store/sealed-fields';

describe('key rotation', () => {
  test('when keys are rotated, then every stored secret moves to the new key, and the old key can be removed', async () => {
    const graph = await startFakeGraph({ version: GRAPH_VERSION });
    graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
    const chatwoot = await startFakeChatwoot();
    chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
    const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'WhatsApp' });
    const key1 = FernetKey.generate();
    const key2 = FernetKey.generate();
    const env = await harnessEnv({ graphUrl: graph.url });
    const withKeys = (...keys: string[]) => ({ ...env, ENCRYPTION_KEYS: keys.join(',') });
    const ring1 = KeyRing.fromList([key1]);
    const ring2 = KeyRing.fromList([key2]);
    let bridge: BridgeProcess | undefined;
    const db = await mongoose.createConnection(env.MONGODB_URI!).asPromise();
    try {
      bridge = await startBridgeProcess(withKeys(key1));
      const connectionId = await createConnection(bridge.baseUrl, chatwoot.url, inbox.id, PHONE_NUMBER_ID, inbox.secret ?? undefined);
      // The sealed fields no admin call creates here: written the way their repositories write them.
      const sealed = (plain: string) => { const { token, keyId } = ring1.encrypt(plain); return { ct: token, kid: keyId }; };
      await db.collection('conversation_recipients').insertOne({ _id: 'rot-recipient' as never, connectionId, recipient: sealed('{"id":"4930111"}') });
      await db.collection('dead_letters').insertOne({ _id: 'rot-dead' as never, connectionId, payload: sealed('{"x":1}') });
      await db.collection('chatwoot_installations').insertOne({ _id: 'rot-install' as never, tenantId: 'ten_rot', adminToken: sealed('cw-admin-token') });
      await db.collection('connections').updateOne({ _id: connectionId as never }, { $set: { 'platform.signingSecret': sealed('unused-but-sealed') } });
      await bridge.kill('SIGTERM');
      bridge = undefined;

      const cliEnv = withKeys(key2, key1);
      const first = await runCli(['--json', 'keys', 'rotate', '--batch-size', '1'], cliEnv);
      assert.equal(first.code, 0, first.stderr);
      const report = JSON.parse(first.stdout) as { moved: number; alreadyCurrent: number; unreadable: number; primaryKeyId: string };
      // metaToken, apiToken, webhookSecret, signingSecret, recipient, dead-letter payload, installation admin token.
      assert.deepEqual(report, { primaryKeyId: ring2.primaryKeyId, moved: SEALED_FIELDS.length, alreadyCurrent: 0, unreadable: 0 });
      assert.match(first.stderr, /moved so far/, 'progress is shown on stderr');
      const again = JSON.parse((await runCli(['--json', 'keys', 'rotate'], cliEnv)).stdout) as { moved: number; alreadyCurrent: number };
      assert.deepEqual([again.moved, again.alreadyCurrent], [0, SEALED_FIELDS.length], 'a re-run finds nothing left to move');

      for (const { collection, path } of SEALED_FIELDS) {
        for (const doc of await db.collection(collection).find({ [`${path}.kid`]: { $exists: true } }).toArray()) {
          const value = path.split('.').reduce<any>((n, p) => n?.[p], doc);
          assert.equal(value.kid, ring2.primaryKeyId, `${collection}.${path} is under the new key`);
          assert.doesNotThrow(() => ring2.decrypt(value.ct), `${collection}.${path} opens with the new key alone`);
          assert.throws(() => ring1.decrypt(value.ct), `${collection}.${path} no longer opens with the old key`);
        }
      }
      const check = await runCli(['keys', 'check'], withKeys(key2));
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stderr, /older keys can be removed/);
      const audit = await db.collection('audit_events').findOne({ action: 'keys.rotate' });
      assert.equal(audit?.details?.moved, SEALED_FIELDS.length);

      // Only the old key: start-up stops with one clear line, naming key ids, never keys.
      const stale = await runCli(['keys', 'check'], withKeys(key1));
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /ENCRYPTION_KEYS cannot decrypt stored secrets: .* key id [0-9a-f]{8}/);
      assert.ok(!stale.stderr.includes(key1) && !stale.stderr.includes(key2));
      await assert.rejects(startBridgeProcess(withKeys(key1)), /exited with code 1 .*ENCRYPTION_KEYS cannot decrypt stored secrets/);

      // Only the new key: the bridge starts and forwards with the rotated secrets.
      bridge = await startBridgeProcess(withKeys(key2));
      const m = textMessage({ from: '4930777000', id: wamid(), body: 'after rotation', timestamp: 1750100300 });
      assert.equal((await signedPost(bridge.baseUrl, delivery([[change([m])]]))).status, 200);
      await eventually(() => assert.equal(chatwoot.messages(ACCOUNT_ID).filter((x) => x.source_id === m.id).length, 1), 30_000);
      const view = await fetch(`${bridge.baseUrl}/admin/connections/${connectionId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(view.status, 200);
    } finally {
      await bridge?.kill('SIGTERM');
      await db.close();
      await Promise.all([graph.close(), chatwoot.close()]);
    }
  });
});
