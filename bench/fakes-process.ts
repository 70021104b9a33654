/**
 * The Graph and Chatwoot fakes in a process of their own (forked by bench/fakes.ts), so the load generator and
 * the fakes do not share one event loop: a slow load generator would otherwise show up as bridge latency.
 * It answers requests over the IPC channel and keeps, for the bench, only what it needs: when each customer
 * message reached Chatwoot (by source_id = wamid) and when each agent reply reached Graph (by its text).
 */
import { randomBytes } from 'node:crypto';
import { startFakeGraph, type FakeGraph } from '../test/fakes/graph';
import { startFakeChatwoot, type FakeChatwoot } from '../test/fakes/chatwoot';
import { ACCOUNT_ID, CHATWOOT_TOKEN, GRAPH_VERSION, META_TOKEN, PHONE_NUMBER_ID } from '../test/support/harness';
import type { FakesRequest, FakesSetup } from './fakes';

const MESSAGE_CREATE = /^\/api\/v1\/accounts\/\d+\/conversations\/\d+\/messages$/;

let graph: FakeGraph;
let chatwoot: FakeChatwoot;
let inboxId = 0;

function sourceIdOf(body: unknown): string | undefined {
  const b = body as { source_id?: unknown; fields?: { source_id?: unknown } } | undefined;
  const id = b?.source_id ?? b?.fields?.source_id;
  return typeof id === 'string' ? id : undefined;
}

/** Customer messages that reached Chatwoot since the last call; the request logs are emptied as they are read. */
function takeArrivals(): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const r of chatwoot.requests.splice(0, chatwoot.requests.length)) {
    if (r.method !== 'POST' || !MESSAGE_CREATE.test(r.path)) continue;
    const id = sourceIdOf(r.body);
    if (id) out.push([id, r.at]);
  }
  graph.requests.splice(0, graph.requests.length);
  return out;
}

/** Agent replies (by their text) that reached Graph's send endpoint since the last call. */
function takeSends(): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const s of graph.sent.splice(0, graph.sent.length)) {
    const text = (s.body.text as { body?: unknown } | undefined)?.body;
    if (typeof text === 'string') out.push([text, s.at]);
  }
  return out;
}

/** Agents answer in these conversations, open loop at `rate` per second; returns when each reply was made. */
async function agentReplies(conversations: number[], rate: number, count: number): Promise<Array<[string, number]>> {
  const made: Array<[string, number]> = [];
  const start = Date.now();
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const text = `bench reply ${tag}-${i}`;
    made.push([text, Date.now()]);
    chatwoot.createAgentReply(ACCOUNT_ID, conversations[i % conversations.length]!, { content: text });
  }
  return made;
}

async function handle(req: FakesRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'setup': {
      graph = await startFakeGraph({ version: GRAPH_VERSION });
      graph.addToken(META_TOKEN, { phoneNumberIds: [PHONE_NUMBER_ID] });
      // A 20 kB photo, the size of a typical WhatsApp JPEG thumbnail-quality image.
      const mediaId = graph.addMedia({ bytes: randomBytes(20_000), mimeType: 'image/jpeg' });
      chatwoot = await startFakeChatwoot({ messagesPerMinuteLimit: 1_000_000 });
      chatwoot.addAccount({ id: ACCOUNT_ID, token: CHATWOOT_TOKEN });
      const inbox = chatwoot.addInbox(ACCOUNT_ID, { name: 'bench' });
      inboxId = inbox.id;
      const setup: FakesSetup = { graphUrl: graph.url, chatwootUrl: chatwoot.url, inboxId, inboxSecret: inbox.secret ?? '', mediaId };
      return setup;
    }
    case 'webhookUrl':
      chatwoot.updateInbox(ACCOUNT_ID, inboxId, { webhookUrl: req.url });
      return null;
    case 'arrivals':
      return takeArrivals();
    case 'sends':
      return takeSends();
    case 'conversations':
      return chatwoot.conversations(ACCOUNT_ID).filter((c) => c.status !== 'resolved').map((c) => c.id);
    case 'agentReplies':
      return agentReplies(req.conversations, req.rate, req.count);
    case 'close':
      await Promise.all([graph?.close(), chatwoot?.close()]);
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (msg: { id: number; req: FakesRequest }) => {
  handle(msg.req).then(
    (result) => process.send!({ id: msg.id, result }),
    (err: unknown) => process.send!({ id: msg.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});
// The bench is gone (crashed or killed): do not linger.
process.on('disconnect', () => process.exit(0));
