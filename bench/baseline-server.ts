/**
 * The baseline: Express with a raw body and the same HMAC check, answering 200 and doing nothing else. The
 * practical ceiling for a Node webhook receiver on this machine. Run as its own process.
 */
import express from 'express';
import { verifyMetaSignature } from '../src/channels/meta/signature';

const secret = process.env.META_APP_SECRET ?? '';
const app = express();
app.post('/webhooks/meta', express.raw({ type: () => true, limit: 3_500_000 }), (req, res) => {
  if (!verifyMetaSignature(req.body as Buffer, req.get('x-hub-signature-256'), secret)) { res.status(401).end(); return; }
  res.status(200).send('EVENT_RECEIVED');
});
app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`);
});
server.keepAliveTimeout = 65_000;
