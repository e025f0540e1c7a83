import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSelector } from './label-selector';

const labels = { app: 'desk', tier: 'session', 'streamspace.io/user-id': 'u1' };

test('label selectors follow the apimachinery grammar', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=desk', true],
    ['app==desk', true],
    ['app!=desk', false],
    ['app!=other', true],
    ['missing!=x', true],
    ['app in (desk, web)', true],
    ['app notin (desk,web)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=desk,streamspace.io/user-id=u1', true],
    ['app=desk,streamspace.io/user-id in (u2,u3)', false],
  ];
  for (const [selector, expected] of cases) {
    assert.equal(parseSelector(selector).matches(labels), expected, selector);
  }
});

test('a malformed selector is a 400', () => {
  assert.throws(() => parseSelector('app in desk'), { code: 400, reason: 'BadRequest' });
});
