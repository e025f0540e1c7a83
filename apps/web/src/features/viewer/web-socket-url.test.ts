import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webSocketUrl } from './web-socket-url';

test('the ticket path becomes a WebSocket URL on the page origin', () => {
  assert.equal(
    webSocketUrl('/vnc/abc?ticket=t1', { protocol: 'http:', host: '127.0.0.1:8080' }),
    'ws://127.0.0.1:8080/vnc/abc?ticket=t1',
  );
  assert.equal(
    webSocketUrl('/vnc/abc?ticket=t1', { protocol: 'https:', host: 'desk.example' }),
    'wss://desk.example/vnc/abc?ticket=t1',
  );
});
