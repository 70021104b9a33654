/**
 * How erasure recognises an end user: the id an admin types, normalised the way channels spell it, and queued or
 * dead-lettered work matched by every id it names (customer, recipient, phone, BSUID) or by the conversation an
 * agent's command addresses. And the confirmation codes of Meta deletion requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCustomerId } from '../../src/core/erasure';
import { customerIdsIn, payloadConcerns } from '../../src/queue/lane-eraser';
import type { LanePayload } from '../../src/queue/pipeline';
import { CONFIRMATION_CODE, newConfirmationCode } from '../../src/store/deletion-requests';

test('an id typed by an admin becomes the id the channel uses', () => {
  const table: Array<[string, string]> = [
    ['+49 151 2345-678', '491512345678'],
    ['(650) 555-1234', '6505551234'],
    ['16505551234', '16505551234'],
    ['  24965784263102 ', '24965784263102'], // a PSID
    ['US.13491208655302741918', 'US.13491208655302741918'], // a BSUID keeps its shape
  ];
  for (const [input, expected] of table) assert.equal(normalizeCustomerId(input), expected, input);
});

const customer = { id: '16505551234', phone: '16505551234', bsuid: 'US.1349' };
const base = { connectionId: 'con_x', receivedAt: 0 } as const;
const inbound = (kind: 'message' | 'status'): LanePayload => (kind === 'message'
  ? { ...base, direction: 'inbound', event: { kind, channel: 'whatsapp', businessId: '1', externalId: 'w1', timestamp: 0, customer, text: 'hi', attachments: [], originalType: 'text', attributes: {} } }
  : { ...base, direction: 'inbound', event: { kind, channel: 'whatsapp', businessId: '1', externalId: 'w2', timestamp: 0, status: 'read', recipient: { id: 'US.1349', bsuid: 'US.1349' }, errors: [] } });
const reply: LanePayload = { ...base, direction: 'outbound', command: { kind: 'reply', platformMessageId: '9', platformConversationId: '42', recipient: { id: '16505551234' }, reply: { content: 'x', attachments: [] }, createdAt: 0 } };
const typing: LanePayload = { ...base, direction: 'outbound', command: { kind: 'typing', platformConversationId: '42', on: true } };

test('queued work names its customer by every id it carries', () => {
  assert.deepEqual(customerIdsIn(inbound('message')), ['16505551234', '16505551234', 'US.1349']);
  assert.deepEqual(customerIdsIn(inbound('status')), ['US.1349', 'US.1349']);
  assert.deepEqual(customerIdsIn(reply), ['16505551234']);
  assert.deepEqual(customerIdsIn(typing), []);
});

test('work concerns the customer by any of their ids, or by one of their conversations', () => {
  const byPhone = { ids: new Set(['16505551234']), conversations: new Set<string>() };
  assert.equal(payloadConcerns(inbound('message'), byPhone), true);
  assert.equal(payloadConcerns(inbound('status'), byPhone), false, 'a status naming only the BSUID needs the BSUID');
  assert.equal(payloadConcerns(inbound('status'), { ...byPhone, ids: new Set(['16505551234', 'US.1349']) }), true);
  assert.equal(payloadConcerns(typing, byPhone), false);
  assert.equal(payloadConcerns(typing, { ...byPhone, conversations: new Set(['42']) }), true);
  assert.equal(payloadConcerns(reply, { ids: new Set(['99999999']), conversations: new Set() }), false);
});

test('confirmation codes are 16 characters of A–Z and 0–9, and do not repeat', () => {
  const codes = new Set(Array.from({ length: 2000 }, newConfirmationCode));
  assert.equal(codes.size, 2000);
  for (const c of codes) assert.match(c, CONFIRMATION_CODE);
  const used = new Set([...codes].join(''));
  assert.equal(used.size, 36, 'every character of the alphabet occurs');
});
