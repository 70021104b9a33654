import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { verifyMetaSignature, signMetaBody } from '../../src/channels/meta/signature';
import { retryDelayMs } from '../../src/queue/backoff';
import { graphErrorFrom, GraphApiError, GraphRetryableError } from '../../src/channels/meta/graph-errors';

test('the signature is checked on the raw bytes Meta sent, escaped unicode included', () => {
  const raw = Buffer.from('{"text":"\\u00e4\\u00f6\\u00e5"}');
  const header = `sha256=${createHmac('sha256', 'secret').update(raw).digest('hex')}`;
  assert.equal(verifyMetaSignature(raw, header, 'secret'), true);
  assert.equal(verifyMetaSignature(Buffer.from('{"text":"äöå"}'), header, 'secret'), false);
  assert.equal(verifyMetaSignature(raw, header, 'other'), false);
  assert.equal(verifyMetaSignature(raw, undefined, 'secret'), false);
  assert.equal(verifyMetaSignature(raw, 'sha256=abc', 'secret'), false);
  assert.equal(verifyMetaSignature(raw, header.replace('sha256=', 'sha1='), 'secret'), false);
  assert.equal(signMetaBody(raw, 'secret'), header);
});

test('retry delays grow exponentially with jitter, are capped, and honour Retry-After', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  assert.equal(retryDelayMs(policy, 1, {}, () => 0), 500);
  assert.equal(retryDelayMs(policy, 1, {}, () => 0.999), 999);
  assert.equal(retryDelayMs(policy, 4, {}, () => 0), 4000);
  assert.ok(retryDelayMs(policy, 30, {}, () => 0.999) <= 60_000);
  assert.equal(retryDelayMs(policy, 1, { retryAfterMs: 7000 }, () => 0), 7000);
});

test('Graph errors are classified by code, not by HTTP status', () => {
  assert.ok(graphErrorFrom(400, { error: { code: 130429, message: 'Rate limit hit' } }) instanceof GraphRetryableError);
  assert.ok(graphErrorFrom(400, { error: { code: 131056 } }) instanceof GraphRetryableError);
  assert.ok(graphErrorFrom(500, {}) instanceof GraphRetryableError);
  assert.ok(graphErrorFrom(undefined, undefined) instanceof GraphRetryableError);
  const permanent = graphErrorFrom(400, { error: { code: 131047, error_data: { details: 'Re-engagement message' } } });
  assert.ok(permanent instanceof GraphApiError);
  assert.match(permanent.message, /131047: Re-engagement message/);
  assert.ok(graphErrorFrom(401, { error: { code: 190 } }) instanceof GraphApiError);
});
