import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedActions } from './session-permissions';

test('the UI offers only the moves the session state machine allows', () => {
  assert.deepEqual(allowedActions('running'), {
    open: true,
    stop: true,
    hibernate: true,
    wake: false,
    remove: true,
  });
  assert.deepEqual(allowedActions('hibernated'), {
    open: false,
    stop: true,
    hibernate: false,
    wake: true,
    remove: true,
  });
  assert.deepEqual(allowedActions('stopped'), {
    open: false,
    stop: false,
    hibernate: false,
    wake: false,
    remove: true,
  });
  assert.equal(allowedActions('stopping').remove, false);
  assert.equal(allowedActions('hibernating').wake, false, 'wake waits for hibernated');
});
