/**
 * Unsubscribing the app at Meta after a connection is deleted (src/onboarding/unsubscribe.ts), with Graph and the
 * store replaced by recorders: which outcome each case gives, that nothing throws, and how batches are ordered and
 * summed up for the audit event. The component tests (connect-pages) run the same against the Graph fake.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { MetaUnsubscriber, summarizeUnsubscribes, usableTokensLast } from '../../src/onboarding/unsubscribe';
import type { ConnectionRecord, ConnectionRepository, MetaSubscription } from '../../src/store/connections';
import type { GraphClient } from '../../src/channels/meta/graph-client';
import { GraphApiError, GraphRetryableError } from '../../src/channels/meta/graph-errors';
import { createLogger } from '../../src/log/logger';

const WABA = '102290129340398';
const PAGE = '771000000001';

function conn(over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id: 'con_1', tenantId: 't', name: 'n', channel: 'whatsapp', businessId: '106540352242922', wabaId: WABA, metaToken: 'EAAB-token',
    platform: { kind: 'generic', url: 'http://x', signingSecret: 's', apiKeyHash: 'h' }, health: 'ok', createdAt: new Date(), ...over,
  } as ConnectionRecord;
}

function setup(opts: { left?: ConnectionRecord[]; legacy?: ConnectionRecord[]; me?: Record<string, string>; fail?: Error } = {}) {
  const calls: Array<{ method: string; path: string; token: string }> = [];
  const updates: Array<{ id: string; pageId?: string }> = [];
  const logs: string[] = [];
  const graph = {
    async delete(path: string, token: string) {
      calls.push({ method: 'DELETE', path, token });
      if (opts.fail) throw opts.fail;
      return { success: true };
    },
    async get(path: string, token: string) {
      calls.push({ method: 'GET', path, token });
      const id = opts.me?.[token];
      if (!id) throw new GraphApiError('Graph 401 code 190: Invalid OAuth access token', 190, 401);
      return { id };
    },
  } as unknown as GraphClient;
  const connections = {
    async subscribedThrough(s: MetaSubscription) {
      return (opts.left ?? []).filter((c) => (s.kind === 'waba' ? c.wabaId === s.id : c.businessId === s.id || c.pageId === s.id));
    },
    async instagramWithoutPage() { return opts.legacy ?? []; },
    async update(id: string, changes: { pageId?: string }) { updates.push({ id, ...changes }); return null; },
  } as unknown as ConnectionRepository;
  const log = createLogger({ level: 'info', stream: new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }) });
  return { unsubscriber: new MetaUnsubscriber({ graph, connections, log }), calls, updates, logs };
}

describe('MetaUnsubscriber.afterDelete', () => {
  test('when the last number of a WABA goes, then DELETE /{waba-id}/subscribed_apps with its token: done', async () => {
    const { unsubscriber, calls } = setup();
    assert.deepEqual(await unsubscriber.afterDelete(conn()), { outcome: 'done', subscription: `waba ${WABA}` });
    assert.deepEqual(calls, [{ method: 'DELETE', path: `${WABA}/subscribed_apps`, token: 'EAAB-token' }]);
  });

  test('when another connection (any tenant) still uses the WABA or Page, then Meta is not asked: skipped_shared', async () => {
    const { unsubscriber, calls } = setup({ left: [conn({ id: 'con_2', tenantId: 'other' }), conn({ id: 'con_3', channel: 'instagram', businessId: '1784', pageId: PAGE })] });
    assert.deepEqual(await unsubscriber.afterDelete(conn()), { outcome: 'skipped_shared', subscription: `waba ${WABA}` });
    assert.deepEqual(await unsubscriber.afterDelete(conn({ channel: 'messenger', businessId: PAGE, wabaId: undefined })), { outcome: 'skipped_shared', subscription: `page ${PAGE}` });
    assert.deepEqual(calls, []);
  });

  test("when Graph refuses or cannot be reached, then nothing throws and the outcome carries Meta's code and what to do by hand", async () => {
    const cases: Array<[Error, string]> = [
      [new GraphApiError('Graph 401 code 190: Error validating access token', 190, 401), 'failed: 190'],
      [new GraphApiError('Graph 403 code 200: Permission denied', 200, 403), 'failed: 200'],
      [new GraphRetryableError('Graph network: no details'), 'failed: network'],
      [new GraphRetryableError('Graph 500 code 1: An unknown error has occurred.', undefined, 1), 'failed: 1'],
      [new Error('socket hang up'), 'failed: error'],
    ];
    for (const [fail, outcome] of cases) {
      const { unsubscriber, logs } = setup({ fail });
      const res = await unsubscriber.afterDelete(conn());
      assert.equal(res.outcome, outcome);
      assert.equal(res.subscription, `waba ${WABA}`);
      assert.match(res.action ?? '', /remove this app from that account in Meta Business Settings/);
      assert.ok(logs.some((l) => l.includes('could not unsubscribe')) && !logs.some((l) => l.includes('EAAB-token')), 'logged, without the token');
    }
  });

  test("when Meta answers 803 (the app is not subscribed there), then it is said so, with nothing to do", async () => {
    const { unsubscriber } = setup({ fail: new GraphApiError('Graph 404 code 803: WhatsApp Business Account not found or not subscribed', 803, 404) });
    assert.deepEqual(await unsubscriber.afterDelete(conn()), { outcome: 'not_subscribed', subscription: `waba ${WABA}` });
  });

  test('when the connection has no token, no WABA id, or is an Instagram-Login one, then Meta is not asked and the outcome says why', async () => {
    const { unsubscriber, calls } = setup();
    assert.equal((await unsubscriber.afterDelete(conn({ metaToken: '', health: 'disconnected' }))).outcome, 'failed: no_token');
    assert.equal((await unsubscriber.afterDelete(conn({ wabaId: undefined }))).outcome, 'failed: no_waba_id');
    const ig = await unsubscriber.afterDelete(conn({ channel: 'instagram', businessId: '1784', wabaId: undefined, options: { tokenKind: 'instagram_login' } }));
    assert.equal(ig.outcome, 'not_supported');
    assert.ok(ig.action);
    assert.deepEqual(calls, []);
  });

  test("when an Instagram connection does not record its Page, then its Page token names it (GET /me), and other such connections are asked too and their answer kept", async () => {
    const igConn = conn({ id: 'con_ig', channel: 'instagram', businessId: '1784', wabaId: undefined, metaToken: 'EAAP-ig' });
    const legacy = conn({ id: 'con_old', channel: 'instagram', businessId: '1785', wabaId: undefined, metaToken: 'EAAP-old' });
    const shared = setup({ legacy: [legacy], me: { 'EAAP-ig': PAGE, 'EAAP-old': PAGE } });
    assert.deepEqual(await shared.unsubscriber.afterDelete(igConn), { outcome: 'skipped_shared', subscription: `page ${PAGE}` });
    assert.deepEqual(shared.updates, [{ id: 'con_old', pageId: PAGE }]);

    const unknown = setup({ legacy: [conn({ ...legacy, metaToken: '' })], me: { 'EAAP-ig': PAGE } });
    const res = await unknown.unsubscriber.afterDelete(igConn);
    assert.equal(res.outcome, 'skipped_maybe_shared');
    assert.match(res.action ?? '', new RegExp(`Page ${PAGE}`));

    const alone = setup({ legacy: [conn({ ...legacy, metaToken: 'EAAP-other' })], me: { 'EAAP-ig': PAGE, 'EAAP-other': '771000000009' } });
    assert.deepEqual(await alone.unsubscriber.afterDelete(igConn), { outcome: 'done', subscription: `page ${PAGE}` });
    assert.deepEqual(alone.calls.at(-1), { method: 'DELETE', path: `${PAGE}/subscribed_apps`, token: 'EAAP-ig' });
  });
});

describe('batches', () => {
  test('connections without a usable token go first, so the last of a WABA to go holds one Meta accepts', () => {
    const order = usableTokensLast([
      conn({ id: 'ok' }), conn({ id: 'gone', metaToken: '', health: 'disconnected' }), conn({ id: 'reauth', health: 'needs_reauth' }), conn({ id: 'ok2' }),
    ], (c) => c).map((c) => c.id);
    assert.deepEqual(order, ['gone', 'reauth', 'ok', 'ok2']);
  });

  test("the audit summary keeps each subscription's final outcome, and only counts connections that name none", () => {
    assert.equal(summarizeUnsubscribes([
      { outcome: 'skipped_shared', subscription: `waba ${WABA}` },
      { outcome: 'done', subscription: `waba ${WABA}` },
      { outcome: 'failed: 190', subscription: `page ${PAGE}` },
      { outcome: 'failed: no_waba_id' },
      { outcome: 'failed: no_waba_id' },
    ]), `waba ${WABA}: done; page ${PAGE}: failed: 190; failed: no_waba_id ×2`);
    assert.equal(summarizeUnsubscribes([]), '');
  });
});
