import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { withLogContext } from '../log/context';

/**
 * Every request gets an id (the caller's X-Request-Id when sane), echoed back; the rest of the request runs in a
 * log context, so every line written while handling it carries the id, however deep the code that writes it.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  const id = given && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('X-Request-Id', id);
  withLogContext({ requestId: id }, next);
};
