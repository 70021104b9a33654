import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Every request gets an id (the caller's X-Request-Id when sane), echoed back and put on its log lines. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  const id = given && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('X-Request-Id', id);
  next();
};
