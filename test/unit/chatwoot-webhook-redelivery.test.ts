/**
 * The Chatwoot edge remembers a delivery id only once the delivery's command is queued. It used to mark the id
 * first (SET NX) and queue after: when the queue write then failed (503) — or the process died between the two —
 * the sender's retry of the same delivery was answered "duplicate" and the agent's reply was lost. Found by the
 * chaos run, whose driver retries Chatwoot webhooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import express from 'express';
import { chatwootWebhookRouter } from '../../src/http/chatwoot-webhook';
import { errorMiddleware } from '../../src/http/errors';
import { signChatwootBody } from '../../src/platforms/chatwoot/webhook';
import { QueueUnavailable } from '../../src/queue/pipeline';
import { Metrics } from '../../src/metrics';
import { createLogger } from '../../src/log/logger';
import type { ConnectionRecord } from '../../src/store/connections';
import type { OutboundCommand } from '../../src/core/outbound';

const SECRET = 'inbox-secret-0123456789';
const conn: ConnectionRecord<'chatwoot'> = {
  id: 'con_test', tenantId: 'ten_test', name: 'Test', channel: 'whatsapp', businessId: '106540352242922', metaToken: 'EAAG-x',
  platform: { kind: 'chatwoot', baseUrl: 'http://127.0.0.1:9', accountId: 1, inboxId: 1, apiToken: 'cw-token', webhookSecret: SECRET },
  health: 'ok' as ConnectionRecord['health'], createdAt: new Date(),
};
const command: OutboundCommand = {
  kind: 'reply', platformMessageId: '42', platformConversationId: '7', recipient: { id: '4917090000001' },
  reply: { content: 'hello', attachments: [] }, createdAt: Date.now(),
};

async function edge(failFirstEnqueue: boolean) {
  const seen = new Set<string>();
  const queued: string[] = [];
  let enqueueCalls = 0;
  const log = createLogger({ level: 'error', stream: new PassThrough() });
  const app = express();
  app.use(chatwootWebhookRouter({
    connectionById: async (id) => (id === conn.id ? conn : null),
    parse: async () => ({ command, commandId: 'message:42' }),
    enqueue: async (_c, _cmd, commandId) => {
      enqueueCalls += 1;
      if (failFirstEnqueue && enqueueCalls === 1) throw new QueueUnavailable('redis did not answer in time');
      queued.push(commandId);
    },
    deliverySeen: async (id) => seen.has(id),
    rememberDelivery: async (id) => { seen.add(id); },
    isShuttingDown: () => false,
    metrics: new Metrics(),
    log,
  }));
  app.use(errorMiddleware(log));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/chatwoot/${conn.id}`;
  const body = JSON.stringify({ event: 'message_created', id: 42 });
  const ts = String(Math.floor(Date.now() / 1000));
  const headers = { 'content-type': 'application/json', 'x-chatwoot-timestamp': ts, 'x-chatwoot-signature': signChatwootBody(SECRET, ts, body), 'x-chatwoot-delivery': 'delivery-1' };
  return {
    queued,
    send: async () => (await fetch(url, { method: 'POST', headers, body })).status,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('when the queue write of a Chatwoot delivery fails, then the same delivery sent again is queued', async () => {
  const e = await edge(true);
  try {
    assert.equal(await e.send(), 503);
    assert.equal(await e.send(), 200);
    assert.deepEqual(e.queued, ['message:42']);
  } finally {
    await e.close();
  }
});

test('when a Chatwoot delivery was queued, then the same delivery again is not queued twice', async () => {
  const e = await edge(false);
  try {
    assert.equal(await e.send(), 200);
    assert.equal(await e.send(), 200);
    assert.deepEqual(e.queued, ['message:42']);
  } finally {
    await e.close();
  }
});
