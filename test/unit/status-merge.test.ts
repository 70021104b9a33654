import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeStatus, aggregateStatus, type TrackedStatus } from '../../src/core/status-merge';

test('statuses only move forward and failed is final, whatever order Meta sends them in', () => {
  const cases: Array<[TrackedStatus[], TrackedStatus]> = [
    [['sent', 'delivered', 'read'], 'read'],
    [['sent', 'read', 'delivered'], 'read'],
    [['read', 'sent'], 'read'],
    [['delivered', 'failed', 'read'], 'failed'],
    [['failed', 'sent'], 'failed'],
    [['read', 'failed'], 'failed'],
  ];
  for (const [sequence, expected] of cases) {
    assert.equal(sequence.reduce<TrackedStatus>(mergeStatus, 'pending'), expected, sequence.join(' → '));
  }
});

test('a message sent in several parts shows its least advanced part, or failed', () => {
  assert.equal(aggregateStatus(['read', 'delivered', 'read']), 'delivered');
  assert.equal(aggregateStatus(['read', 'failed']), 'failed');
  assert.equal(aggregateStatus(['sent']), 'sent');
  assert.equal(aggregateStatus([]), 'pending');
});
