/**
 * One token check (src/tokens/token-checker.ts) with Meta and the store replaced by recorders: which health is
 * stored, when the token is replaced, and when nothing may change.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenChecker, type CheckTrigger } from '../../src/tokens/token-checker';
import type { IssuedToken, TokenFacts, TokenInspector } from '../../src/tokens/token-inspector';
import type { ConnectionHealth, ConnectionRecord, ConnectionRepository } from '../../src/store/connections';
import { GraphApiError, GraphRetryableError } from '../../src/channels/meta/graph-errors';
import { createLogger } from '../../src/log/logger';

const NOW = Date.parse('2026-11-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;

interface Written {
  health: ConnectionHealth;
  renewed?: string;
  reason?: string;
}

function conn(health: ConnectionHealth, over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    id: 'con_1', tenantId: 't', name: 'n', channel: 'whatsapp', businessId: '106540352242922', wabaId: '102290129340398',
    metaToken: 'OLD', platform: { kind: 'generic', url: 'http://x', signingSecret: 's', apiKeyHash: 'h' }, health, createdAt: new Date(NOW), ...over,
  } as ConnectionRecord;
}

function valid(expiresInDays: number | null, kind: TokenFacts['kind'] = 'user'): TokenFacts {
  return { kind, valid: true, expiresAt: expiresInDays === null ? null : new Date(NOW + expiresInDays * DAY), dataAccessExpiresAt: null, scopes: [], granularScopes: [] };
}

function setup(opts: {
  facts: Record<string, TokenFacts | Error>;
  exchange?: IssuedToken | Error;
  landed?: boolean;
}): { checker: TokenChecker; written: Written[]; changed: string[] } {
  const written: Written[] = [];
  const changed: string[] = [];
  const inspector = {
    appId: '1',
    inspect: async (token: string) => {
      const f = opts.facts[token];
      if (!f) throw new Error(`unexpected inspect of ${token}`);
      if (f instanceof Error) throw f;
      return f;
    },
    exchangeForLongLived: async () => {
      if (!opts.exchange) throw new Error('unexpected exchange');
      if (opts.exchange instanceof Error) throw opts.exchange;
      return opts.exchange;
    },
  } as unknown as TokenInspector;
  const connections = {
    recordTokenCheck: async (_id: string, _seen: unknown, change: { health: ConnectionHealth; renewed?: string; token: { reason?: string } }) => {
      if (opts.landed === false) return false;
      written.push({ health: change.health, renewed: change.renewed, reason: change.token.reason });
      return true;
    },
  } as unknown as ConnectionRepository;
  const checker = new TokenChecker({
    connections, inspector, renewBeforeDays: 10, onChanged: (id) => changed.push(id), log: createLogger({ level: 'error' }), now: () => NOW,
  });
  return { checker, written, changed };
}

describe('token checker', () => {
  test('when a user token is due and Meta issues a longer one, then it is stored in place of the old and the connection is ok', async () => {
    const { checker, written, changed } = setup({ facts: { OLD: valid(5), NEW: valid(60) }, exchange: { accessToken: 'NEW' } });
    const r = await checker.check(conn('ok'), 'job');
    assert.equal(r.outcome, 'renewed');
    assert.deepEqual(written, [{ health: 'ok', renewed: 'NEW', reason: undefined }]);
    assert.deepEqual(changed, ['con_1'], 'caches forget the old token');
  });

  const sticky: Array<[string, Parameters<typeof setup>[0], CheckTrigger, ConnectionHealth]> = [
    ['valid, not due, job', { facts: { OLD: valid(30) } }, 'job', 'needs_reauth'],
    ['valid, not due, admin', { facts: { OLD: valid(30) } }, 'admin', 'ok'],
    ['due, Meta gives it back unchanged, job', { facts: { OLD: valid(5) }, exchange: { accessToken: 'OLD', expiresAt: new Date(NOW + 5 * DAY) } }, 'job', 'needs_reauth'],
    ['due, Meta gives it back unchanged, admin', { facts: { OLD: valid(5) }, exchange: { accessToken: 'OLD', expiresAt: new Date(NOW + 5 * DAY) } }, 'admin', 'expiring'],
    ['a Page token near expiry, job', { facts: { OLD: valid(5, 'page') } }, 'job', 'needs_reauth'],
    ['due and renewed, job', { facts: { OLD: valid(5), NEW: valid(60) }, exchange: { accessToken: 'NEW' } }, 'job', 'ok'],
  ];
  for (const [name, opts, trigger, expected] of sticky) {
    test(`when a needs_reauth connection's token is ${name}, then ${expected}`, async () => {
      const { checker, written } = setup(opts);
      const r = await checker.check(conn('needs_reauth'), trigger);
      assert.equal(r.health, expected);
      assert.equal(written.at(-1)?.health, expected);
    });
  }

  test('when Meta cannot be asked (debug_token fails, even with 190 about the app token), then nothing is written', async () => {
    for (const err of [new GraphRetryableError('Graph 503: down'), new GraphApiError('Graph 400 code 190: Invalid OAuth access token signature.', 190, 400)]) {
      const { checker, written } = setup({ facts: { OLD: err } });
      const r = await checker.check(conn('ok'), 'job');
      assert.equal(r.outcome, 'check_failed');
      assert.equal(written.length, 0);
    }
  });

  test('when the exchange fails, then: Meta down → nothing written; refused → expiring; 190 → needs_reauth', async () => {
    const down = setup({ facts: { OLD: valid(5) }, exchange: new GraphRetryableError('Graph 503: down') });
    assert.equal((await down.checker.check(conn('ok'), 'job')).outcome, 'check_failed');
    assert.equal(down.written.length, 0);
    const refused = setup({ facts: { OLD: valid(5) }, exchange: new GraphApiError('Graph 400 code 100: cannot', 100, 400) });
    assert.equal((await refused.checker.check(conn('ok'), 'job')).health, 'expiring');
    assert.match(refused.written[0]!.reason!, /refused to renew it \(cannot\)/);
    const revoked = setup({ facts: { OLD: valid(5) }, exchange: new GraphApiError('Graph 400 code 190: Session has expired', 190, 400, 463) });
    assert.equal((await revoked.checker.check(conn('ok'), 'job')).health, 'needs_reauth');
    assert.match(revoked.written[0]!.reason!, /the token expired, code 190\/463/);
  });

  test('when the connection changed while Meta was asked, then the outcome is superseded and caches are left alone', async () => {
    const { checker, changed } = setup({ facts: { OLD: { ...valid(null), valid: false, problem: { code: 190, subcode: 460, message: 'x' } } }, landed: false });
    const r = await checker.check(conn('ok'), 'job');
    assert.equal(r.outcome, 'superseded');
    assert.equal(r.health, 'ok');
    assert.deepEqual(changed, []);
  });

  test('when a connection is disconnected, then it is skipped without asking Meta', async () => {
    const { checker, written } = setup({ facts: {} });
    const c = conn('disconnected', { metaToken: '' });
    assert.equal(checker.canCheck(c), false);
    assert.equal((await checker.check(c, 'admin')).outcome, 'skipped');
    assert.equal(written.length, 0);
  });
});
