/**
 * The express app: helmet, request ids, the routes, and the one error middleware.
 */
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { requestId } from './request-id';
import { errorMiddleware, HttpError } from './errors';
import type { Logger } from '../log/logger';

export function createHttpApp(routers: Router[], log: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());
  app.use(requestId);
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  for (const router of routers) app.use(router);
  app.use((_req, _res) => { throw new HttpError('not_found', 'no such route'); });
  app.use(errorMiddleware(log));
  return app;
}
