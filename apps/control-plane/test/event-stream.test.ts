import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { systemClock } from '@streamspace/protocol';
import { createAuthService } from '../src/auth/auth-service';
import { createRequestAuth } from '../src/auth/request-auth';
import { registerEventStreamRoutes } from '../src/events/event-stream-routes';
import { createHttpServer } from '../src/http/http-server';
import {
  api,
  createUser,
  loginAs,
  startTestApp,
  TEST_ADMIN_PASSWORD,
  type TestApp,
} from './test-app';

const KEEPALIVE_MS = 200;

/** Reads an event stream to its end; resolves with everything received. */
async function readToEnd(response: Response): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
  }
  return text;
}

/** `promise`, or a failure naming `what` when it has not settled after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('event stream re-authentication', () => {
  let system: TestApp;
  let admin: string;
  // The event routes on the app's database with a short keepalive, beside the real app.
  let events: FastifyInstance;
  let eventsUrl: string;
  before(async () => {
    system = await startTestApp();
    admin = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    events = await createHttpServer({ logger: pino({ level: 'silent' }) });
    registerEventStreamRoutes(events, {
      guard: createRequestAuth(createAuthService({ db: system.app.db, clock: systemClock })),
      feed: { subscribe: () => () => {} },
      loadSession: async () => null,
      loadAgent: async () => null,
      keepaliveMs: KEEPALIVE_MS,
    });
    eventsUrl = await events.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await events.close();
    await system.close();
  });

  it('ends the stream of a user disabled while it is open', async () => {
    const carol = await createUser(system.baseUrl, admin, 'carol');
    const response = await fetch(`${eventsUrl}/api/v1/events`, {
      headers: { authorization: `Bearer ${carol.token}` },
    });
    assert.equal(response.status, 200);
    const ended = readToEnd(response);
    // Still signed in: the stream stays open across several keepalives (an observation window).
    await assert.rejects(within(ended, KEEPALIVE_MS * 3, 'still open'), /still open/);

    const disabled = await api(system.baseUrl, 'PATCH', `/api/v1/users/${carol.id}`, {
      token: admin,
      body: { disabled: true },
    });
    assert.equal(disabled.status, 200);
    // Ends at the next keepalive; the margin is for the database round trip on a busy machine.
    const text = await within(ended, 10 * KEEPALIVE_MS, 'the stream outlived the disabled user');
    const keepalives = text.split(': keepalive').length - 1;
    assert.ok(keepalives >= 2, `keepalives before the user was disabled (${keepalives})`);
  });

  it('ends the stream at logout', async () => {
    const token = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    const response = await fetch(`${eventsUrl}/api/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    const ended = readToEnd(response);
    assert.equal((await api(system.baseUrl, 'POST', '/api/v1/auth/logout', { token })).status, 204);
    await within(ended, 10 * KEEPALIVE_MS, 'the stream outlived the logout');
  });
});
