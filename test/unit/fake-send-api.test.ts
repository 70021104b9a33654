/**
 * The Graph fake's Send API and profiles answer like Meta (graph/send-api.ts): the documented response shape
 * (meta/messenger-send-response.json), the error envelope and codes the bridge classifies, both hosts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGraph, type FakeGraph } from '../fakes/graph';
import { readFixture } from '../support/meta-messaging';

const V = 'v26.0';
const PAGE = '1063015210542';
const IG = '17841400000000009';
const PSID = '24054217774215802';
const IGSID = '9988776655443322';

describe('Graph fake: Send API', () => {
  let g: FakeGraph;
  before(async () => {
    g = await startFakeGraph({ version: V });
    g.addPageToken('page-token', { pageId: PAGE, instagramId: IG });
    g.addInstagramLoginToken('ig-token', { instagramId: IG });
    g.addMessagingUser({ businessId: PAGE, id: PSID, profile: { first_name: 'Ana', last_name: 'Silva', profile_pic: 'https://cdn/a.jpg' } });
    g.addMessagingUser({ businessId: IG, id: IGSID, profile: { name: 'Bea', username: 'bea' } });
  });
  after(async () => { await g.close(); });

  const send = async (path: string, token: string, body: unknown) => {
    const res = await fetch(`${g.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const text = (id: string, t: string, extra: Record<string, unknown> = {}) => ({ recipient: { id }, messaging_type: 'RESPONSE', message: { text: t }, ...extra });

  test('when a text is sent, then the answer has the documented shape', async () => {
    const res = await send(`/${V}/${PAGE}/messages`, 'page-token', text(PSID, 'hello'));
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), Object.keys(readFixture('messenger-send-response.json')).sort());
    assert.equal(res.body.recipient_id, PSID);
    assert.equal(g.sendApi.at(-1)?.id, res.body.message_id);
  });

  test('when a request breaks a rule, then Meta\'s code comes back', async () => {
    const cases: Array<[unknown, number, number?]> = [
      [{ messaging_type: 'RESPONSE', message: { text: 'x' } }, 100],
      [{ recipient: { id: PSID }, message: { text: 'x' } }, 100],
      [text(PSID, 'x', { messaging_type: 'MESSAGE_TAG' }), 100],
      [text(PSID, 'x', { tag: 'HUMAN_AGENT' }), 100],
      [text(PSID, 'x', { messaging_type: 'MESSAGE_TAG', tag: 'POST_PURCHASE_UPDATE' }), 100],
      [text(PSID, 'x'.repeat(2001)), 100],
      [text('111', 'x'), 100, 2018001],
    ];
    for (const [body, code, subcode] of cases) {
      const res = await send(`/${V}/me/messages`, 'page-token', body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(res.body.error.code, code);
      if (subcode) assert.equal(res.body.error.error_subcode, subcode);
      assert.match(res.body.error.fbtrace_id, /^A/);
    }
  });

  test('when the window has passed, then 10/2018278 (Messenger) or 10/2534022 (Instagram); HUMAN_AGENT stretches it to 7 days', async () => {
    g.customerWrote(PAGE, PSID, Date.now() - 30 * 3600_000);
    assert.equal((await send(`/${V}/${PAGE}/messages`, 'page-token', text(PSID, 'late'))).body.error.error_subcode, 2018278);
    assert.equal((await send(`/${V}/${PAGE}/messages`, 'page-token', text(PSID, 'late', { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }))).status, 200);
    g.customerWrote(IG, IGSID, Date.now() - 8 * 24 * 3600_000);
    const ig = await send(`/ig-host/${V}/${IG}/messages`, 'ig-token', text(IGSID, 'late', { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }));
    assert.deepEqual([ig.body.error.code, ig.body.error.error_subcode], [10, 2534022]);
    g.customerWrote(PAGE, PSID);
    g.customerWrote(IG, IGSID);
  });

  test('when a token is used on the other host, then 190; Instagram counts bytes and takes only HUMAN_AGENT', async () => {
    assert.equal((await send(`/${V}/me/messages`, 'ig-token', text(IGSID, 'x'))).body.error.code, 190);
    assert.equal((await send(`/ig-host/${V}/me/messages`, 'page-token', text(IGSID, 'x'))).body.error.code, 190);
    assert.equal((await send(`/ig-host/${V}/me/messages`, 'ig-token', text(IGSID, 'é'.repeat(501)))).body.error.code, 100);
    assert.equal((await send(`/${V}/me/messages`, 'page-token', text(IGSID, 'x', { messaging_type: 'MESSAGE_TAG', tag: 'CUSTOMER_FEEDBACK' }))).body.error.code, 100);
    const ok = await send(`/${V}/me/messages`, 'page-token', text(IGSID, 'via the Page'));
    assert.equal(ok.status, 200);
    assert.deepEqual([g.sendApi.at(-1)?.product, g.sendApi.at(-1)?.host], ['instagram', 'facebook']);
  });

  test('when sends go over the throughput, then 613', async () => {
    const slow = await startFakeGraph({ version: V, throughputPerSecond: 1 });
    try {
      slow.addPageToken('t', { pageId: PAGE });
      slow.addMessagingUser({ businessId: PAGE, id: PSID });
      const post = () => fetch(`${slow.url}/${V}/${PAGE}/messages`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify(text(PSID, 'x')) });
      assert.equal((await post()).status, 200);
      const second = await post();
      assert.deepEqual([second.status, ((await second.json()) as any).error.code], [400, 613]);
    } finally {
      await slow.close();
    }
  });

  test('when a customer blocked the Page, then 551; profiles answer with the fields asked for', async () => {
    g.addMessagingUser({ businessId: PAGE, id: '5550001', unavailable: true });
    assert.deepEqual((await send(`/${V}/${PAGE}/messages`, 'page-token', text('5550001', 'x'))).body.error.code, 551);
    const p = await fetch(`${g.url}/${V}/${PSID}?fields=first_name,last_name,profile_pic`, { headers: { authorization: 'Bearer page-token' } });
    assert.deepEqual(await p.json(), { id: PSID, first_name: 'Ana', last_name: 'Silva', profile_pic: 'https://cdn/a.jpg' });
    const ig = await fetch(`${g.url}/ig-host/${V}/${IGSID}?fields=name,username`, { headers: { authorization: 'Bearer ig-token' } });
    assert.deepEqual(await ig.json(), { id: IGSID, name: 'Bea', username: 'bea' });
    const bad = await fetch(`${g.url}/${V}/${PSID}?fields=username`, { headers: { authorization: 'Bearer page-token' } });
    assert.equal(((await bad.json()) as any).error.code, 100);
  });
});
