/**
 * The platform contract as written (docs/platform-api.openapi.json) against the bridge as built: the document
 * validates, the bridge serves it, every documented operation answers with a documented status, and the
 * request schema and the bridge's own validation agree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startGenericHarness, type GenericHarness } from '../support/generic-harness';
import { contractSchemas, loadContract } from '../support/openapi';
import { eventually } from '../support/harness';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('the platform API contract (OpenAPI 3.1)', () => {
  let h: GenericHarness;
  before(async () => { h = await startGenericHarness(); });
  after(async () => { await h?.stop(); });

  test('the document validates, and every schema in it compiles under JSON Schema 2020-12', async () => {
    const api = await SwaggerParser.validate(loadContract() as never) as unknown as Record<string, any>;
    assert.equal(api.openapi, '3.1.0');
    assert.deepEqual(Object.keys(api.webhooks).sort(), ['contact', 'contact.erase', 'delete', 'edit', 'message', 'reaction', 'status']);
    const schemas = contractSchemas();
    assert.ok(schemas.names.includes('ReplyRequest'));
  });

  test('the bridge serves the same document, naming itself as the server', async () => {
    const res = await fetch(`${h.baseUrl}/platform/v1/openapi.json`);
    assert.equal(res.status, 200);
    const served = (await res.json()) as Record<string, any>;
    const { servers, ...rest } = served;
    const { servers: _fileServers, ...file } = loadContract();
    assert.deepEqual(rest, file);
    assert.equal(servers[0].url, h.env.PUBLIC_URL);
  });

  test('every documented path answers each documented method with one of its documented statuses (never 404)', async () => {
    const doc = loadContract();
    let operations = 0;
    for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const url = h.baseUrl + template.replace(/\{[^}]+\}/g, 'not-a-real-token');
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        operations += 1;
        const res = await fetch(url, { method: method.toUpperCase(), ...(method === 'post' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
        assert.notEqual(res.status, 404, `${method.toUpperCase()} ${template} answered 404`);
        assert.ok(String(res.status) in op.responses, `${method.toUpperCase()} ${template} answered ${res.status}, not documented (${Object.keys(op.responses).join(', ')})`);
      }
    }
    assert.equal(operations, 3);
  });

  test('the documented request examples are valid, and the bridge accepts each of them', async () => {
    const doc = loadContract();
    const schemas = contractSchemas(doc);
    const examples = doc.paths['/platform/v1/messages'].post.requestBody.content['application/json'].examples as Record<string, { value: unknown }>;
    assert.ok(Object.keys(examples).length >= 3);
    const sentBefore = h.graph.sent.length;
    // A real conversation and a file the bridge can fetch, in place of the examples' placeholders.
    const from = '16505551234';
    await h.postWebhook(delivery([[change([textMessage({ from, id: wamid(), body: 'hi', timestamp: Math.floor(Date.now() / 1000) })])]]));
    const conversationId = await eventually(() => { const e = h.platform.eventsOf('message')[0]; assert.ok(e); return e.conversation_id; });
    const fileUrl = h.platform.serveFile('invoice.pdf', Buffer.from('%PDF-1.4 example'), 'application/pdf');
    for (const [name, { value }] of Object.entries(examples)) {
      assert.deepEqual(schemas.check('ReplyRequest', value), [], name);
      const v = value as { conversation_id?: string; media?: Array<{ url: string }> };
      const res = await h.postReply({
        ...v,
        ...(v.conversation_id ? { conversation_id: conversationId } : {}),
        ...(v.media ? { media: v.media.map((m) => ({ ...m, url: fileUrl })) } : {}),
      });
      assert.equal(res.status, 202, `${name}: ${await res.text()}`);
    }
    await eventually(() => assert.equal(h.graph.sent.length - sentBefore, Object.keys(examples).length), 15_000);
  });

  test('the schema and the bridge refuse the same malformed requests', async () => {
    const schemas = contractSchemas();
    const refused: Array<[string, unknown]> = [
      ['no message_id', { conversation_id: 'c', text: 'x' }],
      ['no conversation or customer', { message_id: 'm1', text: 'x' }],
      ['nothing to send', { message_id: 'm2', conversation_id: 'c' }],
      ['media URL not http', { message_id: 'm3', conversation_id: 'c', media: [{ url: 'ftp://files/x.pdf' }] }],
      ['unknown field', { message_id: 'm4', conversation_id: 'c', text: 'x', colour: 'red' }],
      ['bad template name', { message_id: 'm5', conversation_id: 'c', template: { name: 'Order Update', language: 'en_US' } }],
      ['empty reply_to', { message_id: 'm6', conversation_id: 'c', text: 'x', reply_to: {} }],
      ['unknown media kind', { message_id: 'm7', conversation_id: 'c', media: [{ url: 'https://x/y', kind: 'hologram' }] }],
    ];
    for (const [name, body] of refused) {
      assert.notDeepEqual(schemas.check('ReplyRequest', body), [], `the schema accepts: ${name}`);
      assert.equal((await h.postReply(body)).status, 400, `the bridge accepts: ${name}`);
    }
  });
});
