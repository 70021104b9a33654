/**
 * The sandbox's inbox page: the customer's phone on the left, the agent's Chatwoot conversation on the right.
 * Plain HTML and a small script polling /api/state: nothing to build, nothing from the internet.
 */
import express from 'express';
import helmet from 'helmet';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { SandboxWorld } from './world';

export interface InboxPage {
  url: string;
  close(): Promise<void>;
}

export async function startInboxPage(world: SandboxWorld, port: number, host = '127.0.0.1'): Promise<InboxPage> {
  const html = readFileSync(path.join(__dirname, 'inbox.html'), 'utf8');
  const script = readFileSync(path.join(__dirname, 'inbox.js'), 'utf8');
  const app = express();
  app.use(helmet());
  app.use(express.json({ limit: '16kb' }));
  app.get('/', (_req, res) => { res.type('html').send(html); });
  app.get('/inbox.js', (_req, res) => { res.type('application/javascript').send(script); });
  app.get('/api/state', (_req, res) => { res.json(world.state()); });
  app.post('/api/customer', async (req, res) => {
    const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
    if (!text) return void res.status(400).json({ error: 'type a message first' });
    const sent = await world.customerSends(text);
    res.status(sent.status === 200 ? 200 : 502).json(sent);
  });
  app.post('/api/reply', (req, res) => {
    const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
    const conversationId = Number(req.body?.conversationId);
    if (!text || !Number.isInteger(conversationId)) return void res.status(400).json({ error: 'a reply needs text and a conversation' });
    world.agentReplies(conversationId, text);
    res.json({ ok: true });
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${actual}/`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
