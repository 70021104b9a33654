/**
 * The token lifecycle on the real bridge against the Graph fake (debug_token, fb_exchange_token, 190 errors),
 * with a one-second check interval: renewal before expiry, expiring when Meta will not renew, needs_reauth when
 * Meta stops accepting the token (sends fail with the reason, inbound keeps flowing), the admin routes and CLI
 * commands to check or replace a token, the metrics, and the one-sweep-per-interval lock across processes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { ACCOUNT_ID, ADMIN_KEY, APP_SECRET, CHATWOOT_TOKEN, META_TOKEN, createTenant, eventually, startHarness, testTenant, type Harness } from '../support/harness';
import { requireServices, uniqueRedisPrefix } from '../support/env';
import { runCli } from '../support/cli';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';
import { TokenRenewalJob } from '../../src/tokens/token-renewal-job';
import type { TokenChecker } from '../../src/tokens/token-checker';
import type { ConnectionRecord, ConnectionRepository } from '../../src/store/connections';
import { createLogger } from '../../src/log/logger';

type Json = Record<string, any>;

const APP_ID = '987654321012345';
const WABA_ID = '102290129340398';
const DAY_MS = 24 * 3600 * 1000;
const TOKEN_ENV = { META_APP_ID: APP_ID, TOKEN_CHECK_INTERVAL_S: '1', TOKEN_RENEW_BEFORE_DAYS: '10' };
const WA_SCOPES = { scopes: ['whatsapp_business_messaging', 'whatsapp_business_management'], granularScopes: [{ scope: 'whatsapp_business_messaging', target_ids: [WABA_ID] }] };

async function admin(h: Harness, method: string, path: string, body?: unknown, key = ADMIN_KEY): Promise<{ status: number; json: Json; text: string }> {
  const res = await fetch(`${h.baseUrl}/admin${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) as Json : {}, text };
}

const connection = async (h: Harness): Promise<Json> => (await admin(h, 'GET', `/connections/${h.connectionId}`)).json;

let customerSeq = 0;
/** A customer writes; returns the Chatwoot conversation the message became. */
async function customerWrites(h: Harness, text: string): Promise<{ from: string; conversationId: number }> {
  customerSeq += 1;
  const from = `3069${String(customerSeq).padStart(8, '0')}`;
  const id = wamid();
  const res = await h.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp: Math.floor(Date.now() / 1000) })])]]));
  assert.equal(res.status, 200);
  const msg = await eventually(() => {
    const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id);
    assert.ok(m, 'the customer message reached Chatwoot');
    return m;
  });
  return { from, conversationId: msg.conversation_id };
}

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('token lifecycle: a renewable token', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: TOKEN_ENV });
    h.graph.configureApp({ id: APP_ID, secret: APP_SECRET });
  });
  after(async () => h?.stop());

  test('when a user token is 5 days from expiry, then the background job renews it and replies go out with the new token', async () => {
    const fiveDays = Date.now() + 5 * DAY_MS;
    h.graph.setTokenMeta(META_TOKEN, { type: 'USER', expiresAt: fiveDays, renewal: 'extend', userId: '10229', ...WA_SCOPES });

    const renewed = await eventually(async () => {
      const c = await connection(h);
      assert.ok(c.token?.renewedAt, 'renewed');
      return c;
    }, 30_000);
    assert.equal(renewed.health, 'ok');
    assert.equal(renewed.token.kind, 'user');
    assert.ok(Date.parse(renewed.token.expiresAt) > Date.now() + 55 * DAY_MS, `expires ~60 days out, got ${renewed.token.expiresAt}`);
    assert.deepEqual(renewed.token.scopes, WA_SCOPES.scopes);
    assert.deepEqual(renewed.token.granularScopes, [{ scope: 'whatsapp_business_messaging', targetIds: [WABA_ID] }]);
    assert.ok(Date.parse(renewed.token.lastCheckedAt) > Date.now() - 60_000);
    const issued = h.graph.issuedTokens.filter((t) => t.from === META_TOKEN);
    assert.equal(issued.length, 1, 'renewed exactly once, not on every sweep');
    const newToken = issued[0]!.to;
    assert.ok(!JSON.stringify(renewed).includes(newToken) && !JSON.stringify(renewed).includes(META_TOKEN), 'the admin view never shows a token');
    assert.ok(!h.logs.some((l) => l.includes(newToken) || l.includes(META_TOKEN)), 'no token in the logs');

    // The app secret went to Meta only as the exchange requires (query) and as the app token (header), never in debug_token's URL.
    const debugCalls = h.graph.requests.filter((r) => r.path.endsWith('/debug_token'));
    assert.ok(debugCalls.length > 0 && debugCalls.every((r) => !JSON.stringify(r.query).includes(APP_SECRET)));

    const c = await customerWrites(h, 'hello after renewal');
    h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'sent with the renewed token' });
    const send = await eventually(() => {
      const r = h.graph.requests.find((x) => x.method === 'POST' && x.path.endsWith('/messages') && (x.body as Json | undefined)?.to === `+${c.from}`);
      assert.ok(r);
      return r;
    }, 30_000);
    assert.equal(send.headers.authorization, `Bearer ${newToken}`);

    // Later sweeps see 60 days left: nothing more to renew.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(h.graph.issuedTokens.filter((t) => t.from === newToken).length, 0);
    assert.equal((await connection(h)).health, 'ok');
  });

  test('when an Instagram-Login connection has no known expiry, then the job refreshes its token on graph.instagram.com', async () => {
    const igToken = 'IGAA-test-instagram-login-token-0123456789';
    const igId = '17841400000000077';
    h.graph.addInstagramLoginToken(igToken, { instagramId: igId });
    const created = await admin(h, 'POST', '/connections', {
      tenantId: await testTenant(h.baseUrl), name: 'IG login', channel: 'instagram', businessId: igId, options: { tokenKind: 'instagram_login' },
      metaAccessToken: igToken, platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: CHATWOOT_TOKEN },
    });
    assert.equal(created.status, 201, created.text);
    const c = await eventually(async () => {
      const got = (await admin(h, 'GET', `/connections/${created.json.id}`)).json;
      assert.ok(got.token?.renewedAt, 'refreshed');
      return got;
    }, 30_000);
    assert.equal(c.health, 'ok');
    assert.equal(c.token.kind, 'instagram_login');
    assert.ok(Date.parse(c.token.expiresAt) > Date.now() + 55 * DAY_MS);
    const refreshed = h.graph.issuedTokens.filter((t) => t.from === igToken);
    assert.deepEqual(refreshed.map((t) => t.via), ['ig_refresh_token']);
    assert.ok(h.graph.requests.some((r) => r.path === '/ig-host/refresh_access_token'));
    // Now 60 days out: not refreshed again on later sweeps.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(h.graph.issuedTokens.filter((t) => t.from === refreshed[0]!.to).length, 0);
  });
});

describe('token lifecycle: a token Meta will not renew', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: TOKEN_ENV });
    h.graph.configureApp({ id: APP_ID, secret: APP_SECRET });
  });
  after(async () => h?.stop());

  test('when it cannot be renewed, then expiring; on error 190 needs_reauth; sends fail with the reason; inbound still flows', async () => {
    h.graph.setTokenMeta(META_TOKEN, { type: 'USER', expiresAt: Date.now() + 5 * DAY_MS, renewal: 'same', ...WA_SCOPES });

    const expiring = await eventually(async () => {
      const c = await connection(h);
      assert.equal(c.health, 'expiring');
      return c;
    }, 30_000);
    assert.match(expiring.token.reason, /expires on \d{4}-\d{2}-\d{2} and Meta would not extend it: reconnect the account before then/);
    // An expiring connection still works both ways.
    const before190 = await customerWrites(h, 'while expiring');
    h.chatwoot.createAgentReply(ACCOUNT_ID, before190.conversationId, { content: 'still sends while expiring' });
    await eventually(() => assert.ok(h.graph.sent.some((s) => s.to === `+${before190.from}`)), 30_000);

    const scrape = await (await fetch(`${h.baseUrl}/metrics`)).text();
    assert.equal(metricValue(scrape, 'bridge_connection_token_health', { connection_id: h.connectionId, state: 'expiring' }), 1);
    assert.equal(metricValue(scrape, 'bridge_connection_token_health', { connection_id: h.connectionId, state: 'ok' }), 0);
    assert.ok((metricValue(scrape, 'bridge_token_checks_total', { outcome: 'expiring', trigger: 'job' }) ?? 0) >= 1);

    // The user changes their Facebook password: Meta answers 190/460 from now on.
    h.graph.invalidateToken(META_TOKEN, 460);
    const reauth = await eventually(async () => {
      const c = await connection(h);
      assert.equal(c.health, 'needs_reauth');
      return c;
    }, 30_000);
    assert.match(reauth.token.reason, /changed their password/);
    assert.match(reauth.token.reason, /code 190\/460/);

    // Sends fail at once, with the reason, visible to the agent; inbound keeps flowing.
    const c = await customerWrites(h, 'I still reach you');
    const sendsBefore = h.graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).length;
    const reply = h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'cannot go out' });
    const failed = await eventually(() => {
      const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.id === reply.id)!;
      assert.equal(m.status, 'failed');
      return m;
    }, 30_000);
    assert.match(String(failed.content_attributes?.external_error), /needs re-authorisation/);
    assert.equal(h.graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).length, sendsBefore, 'nothing was sent to Meta');
    await customerWrites(h, 'and again');

    // The background job does not lift it; a new token does (PUT), and the connection is ok again.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await connection(h)).health, 'needs_reauth');
    const fresh = 'EAAG-fresh-system-user-token-0123456789';
    h.graph.addToken(fresh, { phoneNumberIds: [(await connection(h)).businessId] });
    h.graph.setTokenMeta(fresh, { type: 'SYSTEM_USER', expiresAt: undefined, ...WA_SCOPES });
    const put = await admin(h, 'PUT', `/connections/${h.connectionId}/token`, { accessToken: fresh });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.health, 'ok');
    assert.equal(put.json.token.expiresAt, 'never');
    assert.equal(put.json.exchanged, false);
    assert.ok(!put.text.includes(fresh));
    assert.equal((await h.bridge!.connections!.findById(h.connectionId))?.grantedByUserId, undefined, 'a system user token names no person');
    const again = await customerWrites(h, 'back to normal');
    h.chatwoot.createAgentReply(ACCOUNT_ID, again.conversationId, { content: 'works again' });
    await eventually(() => assert.ok(h.graph.sent.some((s) => s.to === `+${again.from}`)), 30_000);
  });

  test('when a token has expired, then the job marks needs_reauth with the date', async () => {
    const expired = 'EAAG-expired-user-token-0123456789';
    h.graph.addToken(expired, { phoneNumberIds: [(await connection(h)).businessId] });
    h.graph.setTokenMeta(expired, { type: 'USER', expiresAt: Date.now() + 3 * DAY_MS, renewal: 'same', userId: '10000000000042', ...WA_SCOPES });
    assert.equal((await admin(h, 'PUT', `/connections/${h.connectionId}/token`, { accessToken: expired })).status, 200);
    // A person's token: debug_token names them, and Meta's Deauthorize callback about them will find this connection.
    assert.equal((await h.bridge!.connections!.findById(h.connectionId))?.grantedByUserId, '10000000000042');
    h.graph.setTokenMeta(expired, { expiresAt: Date.now() - 1000 });
    const c = await eventually(async () => {
      const got = await connection(h);
      assert.equal(got.health, 'needs_reauth');
      return got;
    }, 30_000);
    assert.match(c.token.reason, /the token expired/);
  });
});

describe('token lifecycle: admin routes and CLI', () => {
  let h: Harness;
  before(async () => {
    // A long interval: only the admin's explicit checks run during these tests (after the first sweep at start).
    h = await startHarness({ env: { ...TOKEN_ENV, TOKEN_CHECK_INTERVAL_S: '3600' } });
    h.graph.configureApp({ id: APP_ID, secret: APP_SECRET });
    h.graph.setTokenMeta(META_TOKEN, { type: 'SYSTEM_USER', expiresAt: undefined, ...WA_SCOPES });
  });
  after(async () => h?.stop());

  test('when an admin checks a token now, then Meta is asked and the answer stored; another tenant gets 404', async () => {
    const checked = await admin(h, 'POST', `/connections/${h.connectionId}/check-token`);
    assert.equal(checked.status, 200, checked.text);
    assert.equal(checked.json.check.outcome, 'ok');
    assert.equal(checked.json.token.kind, 'system_user');
    assert.equal(checked.json.token.expiresAt, 'never');
    const other = await createTenant(h.baseUrl, 'Other tenant');
    assert.equal((await admin(h, 'POST', `/connections/${h.connectionId}/check-token`, undefined, other.apiKey)).status, 404);
    assert.equal((await admin(h, 'PUT', `/connections/${h.connectionId}/token`, { accessToken: 'EAAG-whatever-0123456789' }, other.apiKey)).status, 404);
    const audit = await admin(h, 'GET', '/audit?action=connection.token_check');
    assert.ok((audit.json.events as Json[]).some((e) => e.target?.id === h.connectionId && e.details?.outcome === 'ok'));
  });

  test('when an admin checks a connection a failed send marked needs_reauth and Meta calls the token valid, then it is ok again', async () => {
    h.graph.failNext(/\/messages$/, 1, { status: 401, body: { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, fbtrace_id: 'x' } } });
    const c = await customerWrites(h, 'hi');
    h.chatwoot.createAgentReply(ACCOUNT_ID, c.conversationId, { content: 'gets 190' });
    await eventually(async () => assert.equal((await connection(h)).health, 'needs_reauth'), 30_000);
    const checked = await admin(h, 'POST', `/connections/${h.connectionId}/check-token`);
    assert.equal(checked.json.health, 'ok');
  });

  test('when Meta refuses the token (190) on a media download, then needs_reauth, and the message still arrives with a note', async () => {
    assert.equal((await connection(h)).health, 'ok');
    const mediaId = h.graph.addMedia({ bytes: Buffer.from('\xff\xd8 fake jpeg'), mimeType: 'image/jpeg', phoneNumberId: (await connection(h)).businessId });
    h.graph.failNext(new RegExp(`/${mediaId}$`), 1, { status: 400, body: { error: { message: 'Error validating access token: Session has expired', type: 'OAuthException', code: 190, error_subcode: 463, fbtrace_id: 'x' } } });
    const id = wamid();
    const msg = { from: '4915112340077', id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'image', image: { caption: 'receipt', mime_type: 'image/jpeg', sha256: 'x', id: mediaId } };
    assert.equal((await h.postWebhook(delivery([[change([msg])]]))).status, 200);
    // Generous: on a loaded machine a stalled attempt is taken over by the queue only after its lease.
    const m = await eventually(() => {
      const found = h.chatwoot.messages(ACCOUNT_ID).find((x) => x.source_id === id);
      assert.ok(found);
      return found;
    }, 45_000);
    assert.match(String(m.content), /could not be downloaded/);
    assert.equal((await connection(h)).health, 'needs_reauth');
    // Meta calls the token valid again (the failure was injected): the admin's check brings it back.
    assert.equal((await admin(h, 'POST', `/connections/${h.connectionId}/check-token`)).json.health, 'ok');
  });

  test('when a connection is created with a short-lived user token, then it is exchanged for a long-lived one at once', async () => {
    const shortLived = 'EAAG-created-short-lived-token-0123456789';
    const number = '106540352249999';
    h.graph.addToken(shortLived, { phoneNumberIds: [number] });
    h.graph.setTokenMeta(shortLived, { type: 'USER', expiresAt: Date.now() + 2 * 3600_000, renewal: 'extend', ...WA_SCOPES });
    const created = await admin(h, 'POST', '/connections', {
      tenantId: await testTenant(h.baseUrl), name: 'Short-lived', channel: 'whatsapp', businessId: number, wabaId: WABA_ID, metaAccessToken: shortLived,
      platform: { kind: 'chatwoot', baseUrl: h.chatwoot.url, accountId: ACCOUNT_ID, inboxId: h.inboxId, apiAccessToken: CHATWOOT_TOKEN },
    });
    assert.equal(created.status, 201, created.text);
    const stored = (await admin(h, 'GET', `/connections/${created.json.id}`)).json;
    assert.equal(stored.health, 'ok');
    assert.ok(stored.token.renewedAt);
    assert.ok(Date.parse(stored.token.expiresAt) > Date.now() + 55 * DAY_MS);
    assert.ok(h.graph.issuedTokens.some((t) => t.from === shortLived && t.via === 'fb_exchange_token'));
    assert.equal((await admin(h, 'DELETE', `/connections/${created.json.id}`)).status, 200);
  });

  test('when a replacement token is invalid, of another app, or for another WABA, then it is refused and the old one kept', async () => {
    const cases: Array<[string, Parameters<Harness['graph']['setTokenMeta']>[1] | 'unknown' | 'revoked', RegExp]> = [
      ['EAAG-unknown-token-0123456789', 'unknown', /Meta does not accept this token/],
      ['EAAG-revoked-token-0123456789', 'revoked', /Meta does not accept this token: Error validating access token/],
      ['EAAG-other-app-token-0123456789', { appId: '111111111111', ...WA_SCOPES }, /issued to another Meta app/],
      ['EAAG-other-waba-token-0123456789', { scopes: WA_SCOPES.scopes, granularScopes: [{ scope: 'whatsapp_business_messaging', target_ids: ['555555555555'] }] }, /granted for another account, not WhatsApp Business Account 102290129340398/],
      ['EAAG-no-scope-token-0123456789', { scopes: ['pages_messaging'] }, /lacks the whatsapp_business_messaging permission/],
    ];
    for (const [token, meta, message] of cases) {
      if (meta !== 'unknown') h.graph.addToken(token);
      if (meta === 'revoked') h.graph.invalidateToken(token, 460);
      else if (meta !== 'unknown') h.graph.setTokenMeta(token, meta);
      const res = await admin(h, 'PUT', `/connections/${h.connectionId}/token`, { accessToken: token });
      assert.equal(res.status, 400, `${token}: ${res.text}`);
      assert.match(res.json.error.message, message);
      assert.ok(!res.text.includes(token));
    }
    assert.equal((await connection(h)).health, 'ok', 'the old token is kept');
  });

  test('when the CLI sets a short-lived user token, then it is exchanged for a long-lived one; check-token shows it', async () => {
    const shortLived = 'EAAG-short-lived-user-token-0123456789';
    h.graph.addToken(shortLived, { phoneNumberIds: [(await connection(h)).businessId] });
    h.graph.setTokenMeta(shortLived, { type: 'USER', expiresAt: Date.now() + 3600_000, renewal: 'extend', ...WA_SCOPES });
    const env = { BRIDGE_URL: h.baseUrl, BRIDGE_ADMIN_KEY: ADMIN_KEY };
    const set = await runCli(['--json', 'connections', 'set-token', h.connectionId, '--token-file', '-'], env, `${shortLived}\n`);
    assert.equal(set.code, 0, set.stderr);
    const answer = JSON.parse(set.stdout) as Json;
    assert.equal(answer.exchanged, true);
    assert.equal(answer.health, 'ok');
    assert.ok(Date.parse(answer.token.expiresAt) > Date.now() + 55 * DAY_MS);
    assert.ok(!set.stdout.includes(shortLived));
    assert.ok(h.graph.issuedTokens.some((t) => t.from === shortLived && t.via === 'fb_exchange_token'));
    const audit = await admin(h, 'GET', '/audit?action=connection.token_replace');
    const event = (audit.json.events as Json[]).find((e) => e.target?.id === h.connectionId && e.details?.exchanged === true);
    assert.ok(event, 'audited');
    assert.equal(event.details.tokenKind, 'user');
    assert.ok(!JSON.stringify(audit.json).includes(shortLived));

    const check = await runCli(['connections', 'check-token', h.connectionId], env);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /health: ok/);
    assert.match(check.stdout, /kind: user/);
    assert.match(check.stdout, /scopes: whatsapp_business_messaging,whatsapp_business_management/);
    const missing = await runCli(['connections', 'check-token', 'con_nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 not_found/);
  });
});

describe('token sweep lock', () => {
  test('when several processes tick at once, then one sweeps, and no one sweeps again within the interval', async () => {
    const { redisUrl } = requireServices();
    const redis = new Redis(redisUrl);
    const checked: string[] = [];
    const conns = [{ id: 'con_a' }, { id: 'con_b' }] as ConnectionRecord[];
    const connections = { list: async () => conns } as unknown as ConnectionRepository;
    const checker = {
      canCheck: () => true,
      check: async (conn: ConnectionRecord) => {
        checked.push(conn.id);
        await new Promise((r) => setTimeout(r, 50));
        return { outcome: 'ok', health: 'ok' };
      },
    } as unknown as TokenChecker;
    const log = createLogger({ level: 'error' });
    const prefix = uniqueRedisPrefix('tokens');
    const jobs = [1, 2, 3].map(() => new TokenRenewalJob({ checker, connections, redis, prefix, intervalMs: 1_500, log }));
    try {
      const reports = await Promise.all(jobs.map((j) => j.sweepIfDue()));
      assert.equal(reports.filter((r) => r !== null).length, 1, 'exactly one process swept');
      assert.deepEqual(checked, ['con_a', 'con_b']);
      assert.equal(await jobs[1]!.sweepIfDue(), null, 'the mark holds for the rest of the interval');
      await new Promise((r) => setTimeout(r, 1_600));
      assert.notEqual(await jobs[2]!.sweepIfDue(), null, 'after the interval another process sweeps');
      assert.equal(checked.length, 4);
    } finally {
      redis.disconnect();
    }
  });
});
