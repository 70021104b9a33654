/**
 * The one way a JSON request body is read, on every edge: a size limit (413, from the body parser), then a
 * nesting limit (400), then JSON.parse (400 when it is not JSON). The nesting check runs over the raw bytes
 * before parsing, iteratively, so no deeply nested body ever reaches code that walks it recursively (JSON.parse
 * copes with any depth; a recursive walker, JSON.stringify of an event, joi or a log redactor may not).
 */
import express, { type RequestHandler } from 'express';
import { HttpError } from './errors';

/** Deeper than any real Meta, Chatwoot or platform payload (they stay under ten levels), far from stack limits. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of objects and arrays in a JSON text, counted up to `stopAbove` + 1 (then it stops
 * reading). Brackets inside strings do not count. Meant for text that is about to be parsed: it does not
 * validate, so for malformed text the number is only an estimate, and JSON.parse rejects that text anyway.
 */
export function jsonDepth(raw: Buffer | string, stopAbove = Number.POSITIVE_INFINITY): number {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && depth > 0) depth--;
  }
  return deepest;
}

/** The first byte that is not JSON whitespace, if any. */
function firstSignificantByte(bytes: Buffer): number | undefined {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return undefined;
}

/** Parses a raw JSON body, refusing (HttpError 400) one nested deeper than maxDepth or one that is not JSON. */
export function parseJsonBody(raw: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(raw, maxDepth) > maxDepth) {
    throw new HttpError('malformed_body', `request body nests objects and arrays more than ${maxDepth} levels deep`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError('malformed_body', 'request body is not valid JSON');
  }
}

/**
 * Raw bytes of any content type, up to `limit` (larger: 413). For edges that verify a signature over the exact
 * bytes before reading them (Meta, Chatwoot); they then call parseJsonBody.
 */
export function rawBody(limit: number | string): RequestHandler {
  return express.raw({ type: () => true, limit });
}

/**
 * A JSON body for req.body, like express.json() (application/json only; other types leave req.body undefined,
 * which the route's validation refuses; strict: an object or an array at the top), with the nesting limit.
 */
export function jsonBody(opts: { limit: number | string; maxDepth?: number }): RequestHandler[] {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  return [
    express.raw({ type: 'application/json', limit: opts.limit }),
    (req, _res, next) => {
      if (!Buffer.isBuffer(req.body)) {
        req.body = undefined;
        next();
        return;
      }
      const charset = /;\s*charset=["']?([^;"'\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
      if (charset && charset !== 'utf-8' && charset !== 'utf8') throw new HttpError('unsupported_media_type', `unsupported charset "${charset}"; send UTF-8`);
      const first = firstSignificantByte(req.body);
      // As express.json(): an empty body reads as {}, a top-level string or number is refused (strict).
      if (first === undefined) req.body = {};
      else if (first !== OPEN_BRACE && first !== OPEN_BRACKET) throw new HttpError('malformed_body', 'request body must be a JSON object');
      else req.body = parseJsonBody(req.body, maxDepth);
      next();
    },
  ];
}
