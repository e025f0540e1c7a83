import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMinutes, formatTime, idleHibernationReason } from './lifecycle-wording';

test('durations read the way people say them', () => {
  assert.equal(formatMinutes(0), '0 min');
  assert.equal(formatMinutes(30.9), '30 min');
  assert.equal(formatMinutes(60), '1 h');
  assert.equal(formatMinutes(90), '1 h 30 min');
  assert.equal(formatMinutes(12 * 60), '12 h');
  assert.equal(formatMinutes(2 * 1440 + 180), '2 d 3 h');
});

test('times are UTC, with the date only when it is not today', () => {
  const now = Date.parse('2026-11-27T14:40:00Z');
  assert.equal(formatTime(Date.parse('2026-11-27T14:02:30Z'), now), '14:02 UTC');
  assert.equal(formatTime(Date.parse('2026-11-26T23:59:00Z'), now), '2026-11-26 23:59 UTC');
});

test('the idle reason names the last input and the last viewer', () => {
  const reason = idleHibernationReason({
    now: Date.parse('2026-11-27T14:32:10Z'),
    createdAt: Date.parse('2026-11-27T13:00:00Z'),
    lastActivityAt: Date.parse('2026-11-27T14:02:00Z'),
    idleMinutes: 30,
    viewers: { connected: 0, lastDisconnectedAt: Date.parse('2026-11-27T14:05:00Z') },
  });
  assert.equal(reason, 'idle for 30 min (last input 14:02 UTC, no viewer since 14:05 UTC)');
});
