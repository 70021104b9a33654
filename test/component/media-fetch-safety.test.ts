/**
 * Links in untrusted input are never fetched from internal addresses, end to end (real bridge, Redis,
 * MongoDB-wire server, fakes over real HTTP). A "service" listens on a loopback port the bridge was not configured
 * with: a Messenger attachment naming it (or the cloud metadata address) is refused before any request, the
 * customer's message still arrives with a readable note for the agent; an agent's attachment naming it fails
 * visibly. The same message's genuine CDN file still arrives: the rules refuse only what they should.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ACCOUNT_ID, eventually, startHarness, type Harness } from '../support/harness';
import { startGenericHarness, type GenericHarness } from '../support/generic-harness';
import { createMessagingConnection, messagingDelivery, newMid, newScopedId } from '../support/meta-messaging';
import { change, delivery, textMessage, wamid } from '../support/wa-payloads';

const PAGE = '1063015210777';
const PAGE_TOKEN = 'EAAPage-token-for-the-ssrf-page-0123456789';

interface Listener {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** The internal service an attacker would have the bridge call: it records every request it gets. */
async function internalService(): Promise<Listener> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => { hits.push(`${req.method} ${req.url}`); res.end('internal secrets'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('media links from a webhook', () => {
  let h: Harness;
  let service: Listener;
  before(async () => {
    service = await internalService();
    h = await startHarness();
    h.graph.addPageToken(PAGE_TOKEN, { pageId: PAGE });
    const inbox = h.chatwoot.addInbox(ACCOUNT_ID, { name: 'messenger-ssrf' });
    await createMessagingConnection(h.baseUrl, h.chatwoot.url, inbox.id, { channel: 'messenger', businessId: PAGE, token: PAGE_TOKEN, webhookSecret: inbox.secret ?? undefined });
  });
  after(async () => { await h?.stop(); await service?.close(); });

  test('when a Messenger attachment names a loopback port or the metadata address, then nothing is fetched and the agent reads a note', async () => {
    const customerId = newScopedId();
    h.graph.addMessagingUser({ businessId: PAGE, id: customerId });
    const genuine = h.graph.addCdnFile({ bytes: Buffer.from('a real photo'), mimeType: 'image/jpeg' });
    const mid = newMid();
    const res = await h.postWebhook(messagingDelivery('page', PAGE, [{
      sender: { id: customerId }, recipient: { id: PAGE }, timestamp: Date.now(),
      message: {
        mid,
        attachments: [
          { type: 'image', payload: { url: `${service.url}/latest/meta-data/iam/security-credentials/` } },
          { type: 'file', payload: { url: 'http://169.254.169.254/latest/meta-data/' } },
          { type: 'image', payload: { url: genuine } },
        ],
      },
    }]));
    assert.equal(res.status, 200);
    const message = await eventually(() => {
      const found = h.chatwoot.messages(ACCOUNT_ID).filter((m) => m.source_id === mid);
      assert.equal(found.length, 1);
      return found[0]!;
    }, 20_000);
    assert.equal(service.hits.length, 0, `the internal service was called: ${service.hits.join(', ')}`);
    assert.equal(message.attachments.length, 1, 'the genuine CDN file arrives');
    assert.match(message.content ?? '', new RegExp(`could not be downloaded \\(not fetched: 127\\.0\\.0\\.1 is not one of Meta's media hosts\\)`));
    assert.match(message.content ?? '', /could not be downloaded \(not fetched: 169\.254\.169\.254 is not one of Meta's media hosts\)/);
    // The bridge is still answering.
    assert.equal((await fetch(`${h.baseUrl}/healthz`)).status, 200);
  });
});

describe("agents' attachments", () => {
  let g: GenericHarness;
  let service: Listener;
  before(async () => {
    service = await internalService();
    g = await startGenericHarness();
  });
  after(async () => { await g?.stop(); await service?.close(); });

  test("when a reply's media URL is not on the connection's platform host, then nothing is fetched and the reply fails with the reason", async () => {
    const from = `4930${String(Date.now()).slice(-8)}`;
    const id = wamid();
    assert.equal((await g.postWebhook(delivery([[change([textMessage({ from, id, body: 'hello', timestamp: Math.floor(Date.now() / 1000) })])]]))).status, 200);
    const event = await eventually(() => {
      const e = g.platform.events.find((x) => x.type === 'message' && x.data.meta_message_id === id);
      assert.ok(e);
      return e;
    });
    const messageId = `dsk-${randomUUID()}`;
    const res = await g.postReply({ message_id: messageId, conversation_id: event.conversation_id, media: [{ url: `${service.url}/admin/export.pdf`, filename: 'export.pdf' }] });
    assert.equal(res.status, 202);
    const status = await eventually(() => {
      const s = g.platform.statusOf(messageId);
      assert.equal(s.status, 'failed');
      return s;
    }, 20_000);
    assert.match(status.reason ?? '', /attachment could not be fetched: 127\.0\.0\.1 is not one of the connection's platform/);
    assert.equal(service.hits.length, 0, `the internal service was called: ${service.hits.join(', ')}`);
    assert.equal(g.graph.sent.filter((s) => s.to === `+${from}`).length, 0);
  });
});
