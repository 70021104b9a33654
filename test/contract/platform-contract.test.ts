/**
 * One contract, every platform adapter: the same suite runs against the Chatwoot adapter (Chatwoot fake) and the
 * generic HTTP adapter (generic-platform fake), each with the real bridge, real Redis and MongoDB-wire server,
 * and the Graph fake. A driver per platform says how to look at the platform and how an agent answers there;
 * the tests themselves know nothing of either.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { ACCOUNT_ID, eventually, startHarness, type Harness } from '../support/harness';
import { startGenericHarness, type GenericHarness } from '../support/generic-harness';
import { change, delivery, statusChange, textMessage, wamid } from '../support/wa-payloads';
import type { FakeGraph } from '../fakes/graph';

interface SeenMessage {
  /** How the agent's side names the conversation (what a reply is addressed to). */
  conversation: string;
  text: string;
  files: Array<{ bytes: Buffer; mimeType?: string }>;
}

interface SeenReaction {
  emoji: string | null;
  targetMetaId: string;
}

interface PlatformDriver {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  graph(): FakeGraph;
  postWebhook(body: unknown): Promise<Response>;
  /** The customer message with this Meta id as the platform shows it, or undefined while it has not arrived. */
  message(metaId: string): Promise<SeenMessage | undefined>;
  reaction(metaId: string): SeenReaction | undefined;
  /** An agent answers in the conversation; returns the platform's id of the reply. */
  reply(conversation: string, text: string): Promise<string>;
  /** What the agent sees of their reply. */
  status(replyId: string): { status?: string; reason?: string };
}

function chatwootDriver(): PlatformDriver {
  let h: Harness;
  const find = (metaId: string) => h.chatwoot.messages(ACCOUNT_ID).find((m) => m.source_id === metaId);
  return {
    name: 'chatwoot',
    async start() { h = await startHarness(); },
    async stop() { await h?.stop(); },
    graph: () => h.graph,
    postWebhook: (body) => h.postWebhook(body),
    async message(metaId) {
      const m = find(metaId);
      if (!m) return undefined;
      return {
        conversation: String(m.conversation_id),
        text: m.content ?? '',
        files: (m.attachments ?? []).map((a: { bytes: Buffer; content_type?: string }) => ({ bytes: a.bytes, mimeType: a.content_type })),
      };
    },
    reaction(metaId) {
      const m = find(metaId);
      const attrs = (m?.content_attributes ?? {}) as Record<string, unknown>;
      if (!m || attrs.is_reaction !== true) return undefined;
      return { emoji: attrs.reaction_removed ? null : m.content, targetMetaId: String(attrs.in_reply_to_external_id) };
    },
    async reply(conversation, text) {
      return String(h.chatwoot.createAgentReply(ACCOUNT_ID, Number(conversation), { content: text }).id);
    },
    status(replyId) {
      const m = h.chatwoot.messages(ACCOUNT_ID).find((x) => String(x.id) === replyId);
      const attrs = (m?.content_attributes ?? {}) as Record<string, unknown>;
      return { status: m?.status, reason: typeof attrs.external_error === 'string' ? attrs.external_error : undefined };
    },
  };
}

function genericDriver(): PlatformDriver {
  let h: GenericHarness;
  const event = (type: string, metaId: string) => h.platform.events.find((e) => e.type === type && e.data.meta_message_id === metaId);
  return {
    name: 'generic',
    async start() { h = await startGenericHarness(); },
    async stop() { await h?.stop(); },
    graph: () => h.graph,
    postWebhook: (body) => h.postWebhook(body),
    async message(metaId) {
      const e = event('message', metaId);
      if (!e) return undefined;
      const files = [];
      for (const a of e.data.attachments as Array<{ url: string; mime_type?: string }>) {
        const got = await h.platform.download(a.url);
        assert.equal(got.status, 200, `media link answered ${got.status}`);
        files.push({ bytes: got.bytes, mimeType: got.headers.get('content-type') ?? a.mime_type });
      }
      return { conversation: e.conversation_id, text: e.data.text, files };
    },
    reaction(metaId) {
      const e = event('reaction', metaId);
      return e ? { emoji: e.data.emoji, targetMetaId: e.data.target.meta_message_id } : undefined;
    },
    async reply(conversation, text) {
      const messageId = `dsk-${randomUUID()}`;
      const res = await h.postReply({ message_id: messageId, conversation_id: conversation, text });
      assert.equal(res.status, 202, await res.text());
      return messageId;
    },
    status: (replyId) => h.platform.statusOf(replyId),
  };
}

function imageMessage(spec: { from: string; id: string; mediaId: string; sha256: string; caption: string; timestamp: number }): Record<string, unknown> {
  return { from: spec.from, id: spec.id, timestamp: String(spec.timestamp), type: 'image', image: { id: spec.mediaId, mime_type: 'image/jpeg', sha256: spec.sha256, caption: spec.caption } };
}

function reactionMessage(spec: { from: string; id: string; target: string; emoji: string; timestamp: number }): Record<string, unknown> {
  return { from: spec.from, id: spec.id, timestamp: String(spec.timestamp), type: 'reaction', reaction: { message_id: spec.target, emoji: spec.emoji } };
}

const now = () => Math.floor(Date.now() / 1000);

for (const makeDriver of [chatwootDriver, genericDriver]) {
  const p = makeDriver();
  describe(`platform contract: ${p.name}`, () => {
    before(async () => { await p.start(); });
    after(async () => { await p.stop(); });

    let seq = 0;
    const customer = () => `4477${String(++seq).padStart(8, '0')}${p.name === 'generic' ? '1' : '2'}`.slice(0, 13);
    async function customerWrites(from: string, text: string): Promise<{ id: string; seen: SeenMessage }> {
      const id = wamid();
      assert.equal((await p.postWebhook(delivery([[change([textMessage({ from, id, body: text, timestamp: now() })])]]))).status, 200);
      const seen = await eventually(async () => { const m = await p.message(id); assert.ok(m, 'not arrived yet'); return m; });
      return { id, seen };
    }
    const sentTo = (from: string) => p.graph().sent.filter((s) => s.to === `+${from}` || s.to === from);

    test('when a customer writes text, then the platform shows it', async () => {
      const { seen } = await customerWrites(customer(), 'Hello from the contract suite');
      assert.equal(seen.text, 'Hello from the contract suite');
      assert.equal(seen.files.length, 0);
    });

    test('when a customer sends an image, then the platform gets the same bytes and the caption', async () => {
      const from = customer();
      const bytes = Buffer.from(`\xff\xd8\xff fake jpeg for ${p.name} ${randomUUID()}`);
      const mediaId = p.graph().addMedia({ bytes, mimeType: 'image/jpeg' });
      const id = wamid();
      const sha256 = createHash('sha256').update(bytes).digest('base64');
      await p.postWebhook(delivery([[change([imageMessage({ from, id, mediaId, sha256, caption: 'the receipt', timestamp: now() })])]]));
      const seen = await eventually(async () => { const m = await p.message(id); assert.ok(m); return m; });
      assert.equal(seen.text, 'the receipt');
      assert.equal(seen.files.length, 1);
      assert.ok(seen.files[0]!.bytes.equals(bytes), 'same bytes');
      assert.match(seen.files[0]!.mimeType ?? '', /^image\/jpeg/);
    });

    test('when a customer reacts to a message, then the reaction arrives for that message', async () => {
      const from = customer();
      const { id: target } = await customerWrites(from, 'react to me');
      const id = wamid();
      await p.postWebhook(delivery([[change([reactionMessage({ from, id, target, emoji: '👍', timestamp: now() })])]]));
      const r = await eventually(() => { const x = p.reaction(id); assert.ok(x); return x; });
      assert.deepEqual(r, { emoji: '👍', targetMetaId: target });
    });

    test('when an agent replies, then the reply reaches the Graph fake', async () => {
      const from = customer();
      const { seen } = await customerWrites(from, 'can I get an answer?');
      await p.reply(seen.conversation, 'Of course, here it is.');
      const [sent] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
      assert.equal((sent!.body.text as { body: string }).body, 'Of course, here it is.');
    });

    test('when Meta reports delivered and then read, then the agent sees read', async () => {
      const from = customer();
      const { seen } = await customerWrites(from, 'status please');
      const replyId = await p.reply(seen.conversation, 'tracking this one');
      const [sent] = await eventually(() => { const s = sentTo(from); assert.equal(s.length, 1); return s; });
      for (const status of ['delivered', 'read']) {
        await p.postWebhook(delivery([[statusChange([{ id: sent!.id, status, recipient: from, timestamp: now() }])]]));
      }
      await eventually(() => assert.equal(p.status(replyId).status, 'read'));
    });

    test('when Meta refuses a reply, then the agent sees it failed, with the reason', async () => {
      const from = customer();
      const { seen } = await customerWrites(from, 'about to fail');
      p.graph().failNext(/\/messages$/, 1, { status: 400, body: { error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' }, fbtrace_id: 'x' } } });
      const replyId = await p.reply(seen.conversation, 'too late');
      await eventually(() => {
        const s = p.status(replyId);
        assert.equal(s.status, 'failed');
        assert.match(s.reason ?? '', /^131047: .*template/i);
      });
    });
  });
}
