/**
 * The Chatwoot webhook edge, one URL per connection (the API inbox's webhook_url):
 *   POST /webhooks/chatwoot/:connectionId                 signed (Chatwoot ≥ 4.13, X-Chatwoot-Signature)
 *   POST /webhooks/chatwoot/:connectionId/:pathToken      Chatwoot < 4.13, which cannot sign: the weaker option,
 *                                                          a per-connection secret in the URL
 * Answers within Chatwoot's 5 s timeout (Chatwoot marks the message failed otherwise and never retries): one
 * Redis write, then 200. The work happens from the queue.
 */
import { Router } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors';
import { parseJsonBody, rawBody } from './json-body';
import { verifyChatwootSignature } from '../platforms/chatwoot/webhook';
import type { ParsedPlatformRequest } from '../platforms/platform';
import { isPlatform, type ConnectionRecord } from '../store/connections';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';

export interface ChatwootWebhookDeps {
  connectionById(id: string): Promise<ConnectionRecord | null>;
  /** The Chatwoot adapter's reading of a webhook body (Platform.parseRequest). */
  parse(conn: ConnectionRecord<'chatwoot'>, body: unknown): Promise<ParsedPlatformRequest>;
  enqueue(connectionId: string, command: import('../core/outbound').OutboundCommand, commandId: string, receivedAt: number): Promise<void>;
  /** Whether this X-Chatwoot-Delivery id was accepted before, and remembering it once its command is queued. */
  deliverySeen(deliveryId: string): Promise<boolean>;
  rememberDelivery(deliveryId: string): Promise<void>;
  isShuttingDown(): boolean;
  metrics: Metrics;
  log: Logger;
}

/** The URL secret for Chatwoot versions that cannot sign: derived, so nothing more is stored. */
export function chatwootPathToken(conn: ConnectionRecord<'chatwoot'>): string {
  return createHmac('sha256', conn.platform.apiToken).update(`chatwoot-webhook-path:${conn.id}`).digest('base64url').slice(0, 32);
}

export function chatwootWebhookUrl(publicUrl: string, conn: ConnectionRecord<'chatwoot'>): string {
  const base = `${publicUrl.replace(/\/+$/, '')}/webhooks/chatwoot/${conn.id}`;
  return conn.platform.webhookSecret ? base : `${base}/${chatwootPathToken(conn)}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function chatwootWebhookRouter(deps: ChatwootWebhookDeps): Router {
  const router = Router();
  const count = (outcome: string) => deps.metrics.webhooks.inc({ source: 'chatwoot', outcome });

  router.post(['/webhooks/chatwoot/:connectionId', '/webhooks/chatwoot/:connectionId/:pathToken'],
    rawBody('1mb'),
    async (req, res) => {
      const receivedAt = Date.now();
      if (deps.isShuttingDown()) throw new HttpError('shutting_down', 'shutting down; try again later');
      const conn = await deps.connectionById(String(req.params.connectionId));
      if (!conn || !isPlatform(conn, 'chatwoot')) { count('unknown_connection'); throw new HttpError('not_found', 'no such connection'); }
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (conn.platform.webhookSecret) {
        const verdict = verifyChatwootSignature(raw, req.get('x-chatwoot-timestamp'), req.get('x-chatwoot-signature'), conn.platform.webhookSecret);
        if (verdict !== 'ok') { count(`signature_${verdict}`); throw new HttpError('bad_signature', `Chatwoot signature ${verdict}`); }
      } else {
        const token = req.params.pathToken;
        if (typeof token !== 'string' || !same(token, chatwootPathToken(conn))) { count('bad_path_token'); throw new HttpError('bad_signature', 'missing or wrong webhook URL token'); }
      }
      let body: unknown;
      try { body = parseJsonBody(raw); } catch (err) { count('malformed'); throw err; }

      const parsed = await deps.parse(conn, body);
      if ('invalid' in parsed) { count('ignored'); res.status(200).json({ ok: true, ignored: parsed.invalid.join('; ') }); return; }
      if ('ignored' in parsed) { count('ignored'); res.status(200).json({ ok: true, ignored: parsed.ignored }); return; }
      const deliveryId = req.get('x-chatwoot-delivery');
      try {
        // Chatwoot's delivery id and the message id both dedupe: Chatwoot emits duplicate message_created events.
        if (deliveryId && (await deps.deliverySeen(deliveryId))) { count('duplicate_delivery'); res.status(200).json({ ok: true, duplicate: true }); return; }
        await deps.enqueue(conn.id, parsed.command, parsed.commandId, receivedAt);
      } catch (err) {
        count('queue_unavailable');
        deps.log.warn('could not queue a Chatwoot webhook', { reason: (err as Error).message, requestId: res.locals.requestId });
        throw new HttpError('queue_unavailable', 'queue unavailable; try again later');
      }
      // Remembered only now that the command is kept: marking it first lost the reply when the write then failed
      // (503) or the process died, because the sender's retry was taken for a duplicate. Two copies racing past
      // the check are harmless: the lane and the reply's claim key both dedupe by message id.
      if (deliveryId) {
        await deps.rememberDelivery(deliveryId).catch((err: unknown) =>
          deps.log.warn('could not remember a Chatwoot delivery id; a repeat would be deduped by message id', { reason: (err as Error).message }));
      }
      count('accepted');
      res.status(200).json({ ok: true });
    });
  return router;
}
