import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { User } from '@streamspace/protocol';
import { apiRequest, onUnauthenticated } from './api-client';
import { ApiError } from './api-error';

// A real HTTP server answering like the control plane, so the client's parsing of status
// codes and bodies is exercised over the wire (fetch is Node's own here).
let server: Server;
const replies = new Map<string, { status: number; body: string }>();

before(async () => {
  server = createServer((request, response) => {
    const reply = replies.get(request.url ?? '') ?? { status: 404, body: '' };
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(reply.body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  (globalThis as { window?: unknown }).window = {
    location: { origin: `http://127.0.0.1:${port}` },
  };
});

after(() => {
  server.close();
});

const user = {
  id: '5f1d6c1e-8a55-4e55-9a57-0c1a3c4e9b10',
  username: 'alice',
  role: 'user',
  disabled: false,
  idleTimeoutMinutes: null,
  maxDurationMinutes: null,
  createdAt: '2026-11-27T05:00:00.000Z',
};

test('a response is parsed with the protocol schema', async () => {
  replies.set('/api/v1/auth/me', { status: 200, body: JSON.stringify(user) });
  assert.deepEqual(await apiRequest('GET', '/auth/me', User), user);
});

test('an error body becomes an ApiError with its stable code', async () => {
  replies.set('/api/v1/sessions/x/wake', {
    status: 409,
    body: JSON.stringify({ error: { code: 'illegal_transition', message: 'cannot wake' } }),
  });
  const error = await apiRequest('POST', '/sessions/x/wake', null).catch((e: unknown) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 409);
  assert.equal(error.code, 'illegal_transition');
  assert.equal(error.message, 'cannot wake');
});

test('a reply that does not match the schema is an invalid_response, not a broken page', async () => {
  replies.set('/api/v1/auth/me', { status: 200, body: JSON.stringify({ ...user, role: 'root' }) });
  const warn = console.warn;
  console.warn = () => {};
  try {
    const error = await apiRequest('GET', '/auth/me', User).catch((e: unknown) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'invalid_response');
  } finally {
    console.warn = warn;
  }
});

test('a 401 tells the app the sign-in expired, except where the caller opts out', async () => {
  replies.set('/api/v1/users', {
    status: 401,
    body: JSON.stringify({ error: { code: 'unauthenticated', message: 'sign in' } }),
  });
  let expired = 0;
  const unsubscribe = onUnauthenticated(() => (expired += 1));
  try {
    await apiRequest('GET', '/users', null).catch(() => {});
    assert.equal(expired, 1);
    await apiRequest('GET', '/users', null, { skipUnauthenticatedHandler: true }).catch(() => {});
    assert.equal(expired, 1);
  } finally {
    unsubscribe();
  }
});
