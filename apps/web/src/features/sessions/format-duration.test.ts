import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration } from './format-duration';

test('countdowns read as minutes and seconds, or hours and minutes', () => {
  assert.equal(formatDuration(247_000), '4m 07s');
  assert.equal(formatDuration(7_500_000), '2h 05m');
  assert.equal(formatDuration(-5_000), '0m 00s');
});
