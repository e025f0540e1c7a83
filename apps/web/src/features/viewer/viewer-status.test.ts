import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs } from './viewer-status';

test('reconnect delays double from 0.5 s and stop growing at 15 s', () => {
  const middle = () => 0.5; // no jitter
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 20].map((failures) => backoffMs(failures, middle)),
    [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000],
  );
});

test('jitter stays within ±25 % so many viewers do not reconnect in lockstep', () => {
  assert.equal(
    backoffMs(3, () => 0),
    1500,
  );
  assert.equal(
    backoffMs(3, () => 0.999_999),
    2500,
  );
});
