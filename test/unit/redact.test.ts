import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { redact, maskPhone, maskPhonesIn } from '../../src/log/redact';
import { createLogger } from '../../src/log/logger';

test('when a log line carries secrets, text and phone numbers, then only masked forms are written', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(c.toString()));
  const log = createLogger({ level: 'info', stream });
  log.info('forwarding message from 16505551234', {
    token: 'EAAG-secret', headers: { authorization: 'Bearer abc', api_access_token: 'cw-token' },
    text: 'hello my card is 4242', nested: { body: 'secret body', caption: 'a caption', customer: '+16505551234' },
    count: 3,
  });
  await new Promise((r) => setImmediate(r));
  const out = lines.join('');
  for (const leaked of ['EAAG-secret', 'Bearer abc', 'cw-token', 'hello my card', 'secret body', 'a caption', '16505551234']) {
    assert.ok(!out.includes(leaked), `leaked ${leaked}: ${out}`);
  }
  assert.match(out, /\*\*\*1234/);
  assert.match(out, /"count":3/);
});

test('phone masking keeps the last four digits only', () => {
  assert.equal(maskPhone('+1 650 555 1234'), '***1234');
  assert.equal(maskPhonesIn('ids 106540352242922 and 16505551234 seen'), 'ids ***2922 and ***1234 seen');
  assert.equal(maskPhonesIn('wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA='), 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=');
  assert.deepEqual(redact({ list: ['15551234567'] }), { list: ['***4567'] });
});
