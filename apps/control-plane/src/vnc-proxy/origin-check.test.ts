import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOriginAllowed } from './origin-check';

describe('isOriginAllowed', () => {
  it("allows the request's own host, scheme and port included in the comparison of host", () => {
    assert.equal(isOriginAllowed('http://cp.example:8080', 'cp.example:8080', []), true);
    assert.equal(isOriginAllowed('https://CP.example', 'cp.example', []), true);
    assert.equal(isOriginAllowed('http://cp.example:9090', 'cp.example:8080', []), false);
  });

  it('allows configured origins and nothing else', () => {
    const allowed = ['https://app.example/', 'http://localhost:5173'];
    assert.equal(isOriginAllowed('https://app.example', 'cp.example', allowed), true);
    assert.equal(isOriginAllowed('http://localhost:5173', 'cp.example', allowed), true);
    assert.equal(isOriginAllowed('https://evil.example', 'cp.example', allowed), false);
    assert.equal(isOriginAllowed('https://app.example.evil', 'cp.example', allowed), false);
  });

  it('refuses garbage and the opaque origin "null", allows a missing Origin (non-browser client)', () => {
    assert.equal(isOriginAllowed('not a url', 'cp.example', []), false);
    assert.equal(isOriginAllowed('null', 'cp.example', []), false);
    assert.equal(isOriginAllowed(undefined, 'cp.example', []), true);
  });
});
