import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { systemClock, type Session } from '@streamspace/protocol';
import { waitFor } from '@streamspace/test-kit';
import { createAuthService } from '../src/auth/auth-service';
import { createRequestAuth } from '../src/auth/request-auth';
import type { ChangeListener } from '../src/events/change-feed';
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
/** How long a stream may outlive its caller's sign-in: the next keepalive, on a busy machine. */
const STREAM_END_MS = 50 * KEEPALIVE_MS;

/**
 * Reads an event stream as it arrives: `text()` so far, whether it is `open()`, and `ended`
 * with everything once the server ends it. `ended` is handled from the start, so a stream
 * that fails while the test awaits something else fails where the test awaits `ended`, not
 * as an unhandled rejection.
 */
function readStream(response: Response) {
  const decoder = new TextDecoder();
  let text = '';
  let open = true;
  const ended = (async () => {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
    }
    return text;
  })();
  const close = () => void (open = false);
  ended.then(close, close);
  return { text: () => text, open: () => open, ended };
}

const keepalives = (text: string) => text.split(': keepalive').length - 1;

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
    const stream = readStream(response);
    // Still signed in: the stream stays open across several keepalives (each a re-check).
    await waitFor('two keepalives', () => !stream.open() || keepalives(stream.text()) >= 2);
    assert.ok(stream.open(), 'the stream stayed open while the user was signed in');

    const disabled = await api(system.baseUrl, 'PATCH', `/api/v1/users/${carol.id}`, {
      token: admin,
      body: { disabled: true },
    });
    assert.equal(disabled.status, 200);
    // Ends at the next keepalive; the margin is for a busy machine (the re-check is a query).
    const text = await within(stream.ended, STREAM_END_MS, 'the stream outlived the disabled user');
    assert.ok(
      keepalives(text) >= 2,
      `keepalives before the user was disabled (${keepalives(text)})`,
    );
  });

  it('ends the stream at logout', async () => {
    const token = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    const response = await fetch(`${eventsUrl}/api/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    const stream = readStream(response);
    assert.equal((await api(system.baseUrl, 'POST', '/api/v1/auth/logout', { token })).status, 204);
    await within(stream.ended, STREAM_END_MS, 'the stream outlived the logout');
  });
});

describe('event stream fan-out', () => {
  let system: TestApp;
  let events: FastifyInstance;
  let eventsUrl: string;
  let publish: ChangeListener = () => {};
  const loads: string[] = [];
  /** The owner of every session the fake load answers with. */
  let owner = '';

  before(async () => {
    system = await startTestApp();
    events = await createHttpServer({ logger: pino({ level: 'silent' }) });
    registerEventStreamRoutes(events, {
      guard: createRequestAuth(createAuthService({ db: system.app.db, clock: systemClock })),
      feed: {
        subscribe: (listener) => {
          publish = listener;
          return () => {};
        },
      },
      loadSession: async (id) => {
        loads.push(id);
        return { id, userId: owner, state: 'running' } as unknown as Session;
      },
      loadAgent: async () => null,
      keepaliveMs: 60_000,
    });
    eventsUrl = await events.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await events.close();
    await system.close();
  });

  it('reads a changed session once for every stream, and sends it only to who may see it', async () => {
    const admin = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    const dave = await createUser(system.baseUrl, admin, 'dave');
    const erin = await createUser(system.baseUrl, admin, 'erin');
    owner = dave.id;
    const aborts: AbortController[] = [];
    const open = async (token: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      const response = await fetch(`${eventsUrl}/api/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      assert.equal(response.status, 200);
      const stream = readStream(response);
      await waitFor('the stream to be connected', () => stream.text().includes(': connected'));
      return { stream };
    };
    const streams = {
      admin: await open(admin),
      dave: [await open(dave.token), await open(dave.token), await open(dave.token)],
      erin: await open(erin.token),
    };

    publish({ kind: 'session', id: 'one-session' });
    const delivered = (text: string) => text.includes('"id":"one-session"');
    await waitFor('the owner and the admin to receive it', () =>
      [streams.admin, ...streams.dave].every(({ stream }) => delivered(stream.text())),
    );
    assert.deepEqual(loads, ['one-session'], 'one read for five streams');
    assert.equal(delivered(streams.erin.stream.text()), false, 'not sent to another user');

    for (const abort of aborts) abort.abort();
  });
});
