import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containsPattern } from './contains-pattern';

test('containsPattern escapes the LIKE wildcards and the escape character', () => {
  assert.equal(containsPattern('gpu'), '%gpu%');
  assert.equal(containsPattern('50%_off\\x'), '%50\\%\\_off\\\\x%');
});
