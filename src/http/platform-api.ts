/**
 * The generic platform's edge (contract: docs/platform-api.openapi.json):
 *   POST /platform/v1/messages       an agent reply (Authorization: Bearer <connection API key>) → one Redis
 *                                    write into the conversation's lane → 202. Sent by the shared outbound
 *                                    pipeline; what becomes of it comes back as signed `status` events.
 *   GET  /platform/v1/media/:token   a signed, expiring media link from an event: streamed from Meta, not kept.
 *   GET  /platform/v1/openapi.json   the contract itself.
 */
import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import type { ConnectionRecord } from '../store/connections';
import type { OutboundCommand } from '../core/outbound';
import type { MediaRef } from '../core/events';
import type { MediaStream } from '../channels/meta/media';
import type { ParsedPlatformRequest } from '../platforms/platform';
import { MEDIA_PATH, type MediaLinks } from '../platforms/generic/media-links';
import { errorMessage } from '../core/errors';
import type { Metrics } from '../metrics';
import type { Logger } from '../log/logger';

export const PLATFORM_API_BASE = '/platform/v1';

export interface PlatformApiDeps {
  connectionByApiKey(apiKey: string): Promise<ConnectionRecord<'generic'> | null>;
  connectionById(id: string): Promise<ConnectionRecord | null>;
  parse(conn: ConnectionRecord<'generic'>, body: unknown): Promise<ParsedPlatformRequest>;
  enqueue(connectionId: string, command: OutboundCommand, commandId: string, receivedAt: number): Promise<void>;
  mediaLinks: MediaLinks;
  openMedia(conn: ConnectionRecord, ref: MediaRef): Promise<MediaStream>;
  /** The OpenAPI document as served (servers filled in). */
  openapi: unknown;
  isShuttingDown(): boolean;
  metrics: Metrics;
  log: Logger;
}

/** RFC 6266: an ASCII fallback and the exact name in UTF-8. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function platformApiRouter(deps: PlatformApiDeps): Router {
  const router = Router();
  const count = (outcome: string) => deps.metrics.webhooks.inc({ source: 'platform-api', outcome });

  router.get(`${PLATFORM_API_BASE}/openapi.json`, (_req, res) => {
    res.json(deps.openapi);
  });

  router.post(`${PLATFORM_API_BASE}/messages`, ...jsonBody({ limit: '256kb' }), async (req, res) => {
    const receivedAt = Date.now();
    if (deps.isShuttingDown()) throw new HttpError('shutting_down', 'shutting down; try again later');
    const header = req.get('authorization') ?? '';
    const apiKey = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const conn = apiKey && apiKey.length <= 256 ? await deps.connectionByApiKey(apiKey) : null;
    if (!conn) { count('unauthorized'); throw new HttpError('unauthorized', 'missing or wrong API key'); }
    const parsed = await deps.parse(conn, req.body);
    if ('invalid' in parsed) { count('invalid'); throw new HttpError('invalid_request', 'invalid message', parsed.invalid); }
    if ('ignored' in parsed) { count('ignored'); res.status(200).json({ ignored: parsed.ignored }); return; }
    try {
      await deps.enqueue(conn.id, parsed.command, parsed.commandId, receivedAt);
    } catch (err) {
      count('queue_unavailable');
      deps.log.warn('could not queue a platform reply', { reason: errorMessage(err), requestId: res.locals.requestId });
      throw new HttpError('queue_unavailable', 'queue unavailable; try again later');
    }
    count('accepted');
    const cmd = parsed.command;
    res.status(202).json(cmd.kind === 'reply'
      ? { message_id: cmd.platformMessageId, conversation_id: cmd.platformConversationId, status: 'queued' }
      : { status: 'queued' });
  });

  router.get(`${MEDIA_PATH}/:token`, async (req, res) => {
    const opened = deps.mediaLinks.open(String(req.params.token));
    if (!opened.ok) {
      count(`media_${opened.why}`);
      if (opened.why === 'expired') throw new HttpError('gone', 'this media link has expired; every delivery of the event carries a fresh one');
      throw new HttpError('forbidden', 'invalid media link');
    }
    const conn = await deps.connectionById(opened.connectionId);
    if (!conn) throw new HttpError('gone', 'the connection of this media link no longer exists');
    let media: MediaStream;
    try {
      media = await deps.openMedia(conn, opened.ref);
    } catch (err) {
      count('media_upstream_failed');
      deps.log.warn('media could not be fetched from Meta for a platform', { connectionId: conn.id, reason: errorMessage(err), requestId: res.locals.requestId });
      throw new HttpError('upstream_failed', `the file could not be fetched from Meta: ${errorMessage(err)}`);
    }
    count('media_served');
    res.status(200).set({
      'Content-Type': media.mimeType,
      'Content-Disposition': contentDisposition(media.filename),
      'Cache-Control': 'private, no-store',
      ...(media.length !== undefined ? { 'Content-Length': String(media.length) } : {}),
    });
    try {
      await pipeline(media.stream, res);
    } catch (err) {
      // Headers are out: the only honest signal left is a cut connection (the receiver sees a short body).
      deps.log.warn('media stream ended early', { connectionId: conn.id, reason: errorMessage(err), requestId: res.locals.requestId });
      res.destroy();
    }
  });
  return router;
}
