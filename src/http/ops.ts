/**
 * Operations endpoints, served by every role (web, worker, all):
 *   GET /readyz   200 when MongoDB and Redis answer a ping and the process is not shutting down; otherwise 503
 *                 with a JSON body naming what is not ready. Open, like /healthz: probes carry no credentials
 *                 and the body says nothing beyond dependency names and fixed reasons.
 *   GET /metrics  Prometheus text format, behind metrics-access.ts. Scrape-time gauges are read first.
 * /healthz (process alive) stays in server.ts, where it needs no dependency at all.
 */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { HttpError } from './errors';
import type { AccessVerdict } from './metrics-access';
import type { ReadinessReport } from '../ops/readiness';

export interface OpsDeps {
  readiness: { report(): Promise<ReadinessReport> };
  registry: Registry;
  /** Brings the scrape-time gauges up to date (never throws: a failing source only drops its gauges). */
  refreshGauges(): Promise<void>;
  access(peer: string | undefined, authorization: string | undefined): AccessVerdict;
}

export function opsRouter(deps: OpsDeps): Router {
  const router = Router();

  router.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.report();
    // A probe result, not a failed request: the status code is the answer, so the body is the report itself
    // (not the error envelope), in both cases.
    res.status(report.ready ? 200 : 503).set('Cache-Control', 'no-store').json({
      status: report.ready ? 'ready' : 'not_ready',
      ...(report.ready ? {} : { failing: report.failing }),
      checks: report.checks,
    });
  });

  router.get('/metrics', async (req, res) => {
    const verdict = deps.access(req.socket.remoteAddress, req.get('authorization'));
    if (verdict === 'forbidden') throw new HttpError('forbidden', 'metrics are not served to this address (METRICS_ALLOW_FROM)');
    if (verdict === 'unauthorized') {
      res.set('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new HttpError('unauthorized', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
    }
    await deps.refreshGauges();
    res.status(200).set('Content-Type', deps.registry.contentType).set('Cache-Control', 'no-store').send(await deps.registry.metrics());
  });

  return router;
}
