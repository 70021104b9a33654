/**
 * Request and job ids on log lines (src/log/context.ts, logger.ts), and the log scan other tests use
 * (test/support/log-scan.ts): what it finds, and that it reports without repeating the secret.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, type Writable } from 'node:stream';
import TransportStream from 'winston-transport';
import { createLogger } from '../../src/log/logger';
import { withLogContext } from '../../src/log/context';
import { scanLogs } from '../support/log-scan';

function captured(stream?: Writable) {
  const lines: Array<Record<string, unknown>> = [];
  const out = stream ?? new PassThrough();
  if (!stream) out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l))));
  return { log: createLogger({ level: 'info', stream: out }), lines };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('request and job ids on log lines', () => {
  test('when code deep inside a request or job logs, after awaits and timers, then the line carries that id', async () => {
    const { log, lines } = captured();
    const child = log.child({ component: 'deep' });
    await Promise.all([
      withLogContext({ requestId: 'req-1' }, async () => {
        await tick();
        await new Promise((r) => setTimeout(r, 5));
        child.info('in request');
      }),
      withLogContext({ jobId: 'job-7' }, async () => {
        await tick();
        child.child({ eventId: 'e' }).warn('in job');
      }),
    ]);
    log.info('outside');
    withLogContext({ requestId: 'req-2' }, () => log.info('explicit wins', { requestId: 'given' }));
    await tick();
    const by = (m: string) => lines.find((l) => l.message === m)!;
    assert.equal(by('in request').requestId, 'req-1');
    assert.equal(by('in request').component, 'deep');
    assert.equal(by('in job').jobId, 'job-7');
    assert.equal(by('in job').requestId, undefined);
    assert.equal(by('outside').requestId, undefined);
    assert.equal(by('explicit wins').requestId, 'given');
  });

  test('when a transport is slow and lines queue up, then each still carries the id of the context that wrote it', async () => {
    // A transport that calls back late (as a file transport does under load): winston's stream fills, and its
    // formats run later, outside the writers' contexts. Stamping in a format got 28 of these 60 lines wrong.
    const lines: Array<Record<string, unknown>> = [];
    class SlowTransport extends TransportStream {
      override log(info: Record<string, unknown>, done: () => void): void { lines.push({ ...info }); setTimeout(done, 1); }
    }
    const { log } = captured();
    log.clear();
    log.add(new SlowTransport());
    for (let i = 0; i < 60; i++) withLogContext({ requestId: `req-${i}` }, () => log.info('line', { i }));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lines.length, 60);
    for (const l of lines) assert.equal(l.requestId, `req-${l.i}`);
  });
});

test('when a request id is a UUID with an all-digit group, then it is logged as it is; a phone number as request id is masked', async () => {
  const { log, lines } = captured();
  withLogContext({ requestId: '55108302-f786-4ece-bf7d-cd180a82fe15' }, () => log.info('uuid'));
  withLogContext({ requestId: '16505551234' }, () => log.info('phone'));
  await tick();
  assert.equal(lines.find((l) => l.message === 'uuid')!.requestId, '55108302-f786-4ece-bf7d-cd180a82fe15');
  assert.equal(lines.find((l) => l.message === 'phone')!.requestId, '***1234');
});

describe('scanLogs', () => {
  const token = 'EAAG-test-meta-token-abcdefghijklmnop';
  test('when a marker, a token (whole, cut or escaped), a full phone number or a context-less line is there, then each is found', () => {
    const lines = [
      JSON.stringify({ message: 'x', text: 'say "hi" «now»', requestId: 'r' }),
      JSON.stringify({ message: `token ${token.slice(5, 30)}`, jobId: '1' }),
      JSON.stringify({ message: 'url', u: `https://x/?t=${encodeURIComponent(token)}`, jobId: '1' }),
      JSON.stringify({ message: 'from +1 650-555-7321', requestId: 'r' }),
      JSON.stringify({ message: 'masked ***7321 and id 16505557321999', requestId: 'r' }),
      JSON.stringify({ message: 'no context' }),
      JSON.stringify({ message: 'bridge started' }),
      'not json',
    ];
    const findings = scanLogs(lines, { markers: ['say "hi" «now»'], tokens: [token], phones: ['+16505557321'], context: true });
    assert.deepEqual(findings.map((f) => [f.line, f.kind]), [[0, 'marker'], [1, 'token'], [2, 'token'], [3, 'phone'], [5, 'no_context'], [7, 'not_json']]);
    for (const f of findings) {
      assert.ok(!f.excerpt.includes(token.slice(5, 30)) && !f.excerpt.includes('650-555-7321') && !f.what.includes(token), `the report repeats the secret: ${JSON.stringify(f)}`);
    }
  });

  test('when nothing sensitive is there, then nothing is found', () => {
    const lines = [JSON.stringify({ message: 'forwarded', customer: '***7321', requestId: 'r' })];
    assert.deepEqual(scanLogs(lines, { markers: ['MARKER'], tokens: [token], phones: ['16505557321'], context: true }), []);
  });
});
