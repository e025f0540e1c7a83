import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { CloseCode } from '@streamspace/protocol';
import { FakeClock, waitFor } from '@streamspace/test-kit';
import {
  api,
  createUser,
  loginAs,
  startTestApp,
  TEST_ADMIN_PASSWORD,
  type TestApp,
} from './test-app';
import {
  connectTestAgent,
  enrollTestAgent,
  startBannerEchoServer,
  type TestAgent,
} from './vnc-test-agent';

const BANNER = 'RFB 003.008\n';

interface Viewer {
  ws: WebSocket;
  received: Buffer[];
  text(): string;
  closed: Promise<{ code: number; reason: string }>;
}

function openViewer(baseUrl: string, path: string, origin?: string): Viewer {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, ['binary'], {
    perMessageDeflate: false,
    ...(origin === undefined ? {} : { origin }),
  });
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(data));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, received, closed, text: () => Buffer.concat(received).toString() };
}

describe('VNC proxy: connect tickets and the /vnc WebSocket', () => {
  const clock = new FakeClock(Date.now());
  let system: TestApp;
  let admin: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let target: Awaited<ReturnType<typeof startBannerEchoServer>>;
  let agent: TestAgent;
  let templateId: string;
  /** Where the test agent's "driver" connects; tests point it elsewhere to break streams. */
  let targetPort: () => number;
  // Ids decided up front so every agent's hello can list them as running: the control plane
  // fails a running session that a reconnecting agent leaves out of its inventory.
  const sessionIds = Array.from({ length: 40 }, () => randomUUID());
  let nextSession = 0;
  const planned = () => sessionIds;

  before(async () => {
    system = await startTestApp({
      clock,
      // Heartbeats are not what this file tests; keep the hub from timing the test agent out.
      env: {
        STREAMSPACE_HEARTBEAT_INTERVAL_MS: '600000',
        STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '3600000',
      },
    });
    admin = await loginAs(system.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    alice = await createUser(system.baseUrl, admin, 'alice');
    bob = await createUser(system.baseUrl, admin, 'bob');
    target = await startBannerEchoServer();
    const credential = await enrollTestAgent(system.baseUrl, admin, 'vnc-agent');
    targetPort = () => target.port;
    agent = await connectTestAgent(system.baseUrl, credential, () => targetPort(), planned);
    const template = await system.app.db
      .selectFrom('templates')
      .select('id')
      .executeTakeFirstOrThrow();
    templateId = template.id;
  });
  after(async () => {
    agent?.kill();
    await system?.close();
    await target?.close();
  });

  async function createSession(
    userId: string,
    state: 'running' | 'stopped' | 'hibernated' = 'running',
    agentId: string | null = agent.agentId,
  ): Promise<string> {
    const row = await system.app.db
      .insertInto('sessions')
      .values({
        id: sessionIds[nextSession++],
        userId,
        templateId,
        platform: 'local',
        agentId,
        state,
        stateReason: '',
        homeKey: `home-${userId.slice(0, 8)}`,
        vncPassword: 'secret12',
        details: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function ticketFor(token: string, sessionId: string) {
    const response = await api(system.baseUrl, 'POST', `/api/v1/sessions/${sessionId}/connect`, {
      token,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body as {
      ticket: string;
      url: string;
      vncPassword: string | null;
      expiresAt: string;
    };
  }

  it('gives the owner a single-use ticket, the viewer URL and the VNC password', async () => {
    const sessionId = await createSession(alice.id);
    const connect = await ticketFor(alice.token, sessionId);
    assert.match(connect.ticket, /^sst_/);
    assert.equal(connect.url, `/vnc/${sessionId}?ticket=${encodeURIComponent(connect.ticket)}`);
    assert.equal(connect.vncPassword, 'secret12');
    assert.equal(Date.parse(connect.expiresAt), clock.now() + 30_000);
    // Only the hash is stored.
    const stored = await system.app.db.selectFrom('vncTickets').select('ticketHash').execute();
    assert.ok(stored.every((row) => !row.ticketHash.includes(connect.ticket)));
    // An admin may connect to anyone's session.
    await ticketFor(admin, sessionId);
  });

  it("answers 404 for another user's session and 409 for one that is not running", async () => {
    const sessionId = await createSession(alice.id);
    const asBob = await api(system.baseUrl, 'POST', `/api/v1/sessions/${sessionId}/connect`, {
      token: bob.token,
    });
    assert.equal(asBob.status, 404);
    assert.equal(asBob.body.error.code, 'not_found');
    const stopped = await createSession(alice.id, 'hibernated');
    const notRunning = await api(system.baseUrl, 'POST', `/api/v1/sessions/${stopped}/connect`, {
      token: alice.token,
    });
    assert.equal(notRunning.status, 409);
    assert.equal(notRunning.body.error.code, 'session_not_running');
    const anonymous = await api(system.baseUrl, 'POST', `/api/v1/sessions/${sessionId}/connect`);
    assert.equal(anonymous.status, 401);
  });

  it('streams raw RFB both ways to a viewer with a good ticket, and refuses its reuse', async () => {
    const sessionId = await createSession(alice.id);
    const { url } = await ticketFor(alice.token, sessionId);
    const viewer = openViewer(system.baseUrl, url, system.baseUrl);
    await once(viewer.ws, 'open');
    assert.equal(viewer.ws.protocol, 'binary');
    await waitFor('the RFB banner', () => viewer.text() === BANNER);
    viewer.ws.send(Buffer.from('RFB 003.008\n'));
    await waitFor('the echo', () => viewer.text() === BANNER + 'RFB 003.008\n');
    assert.equal(system.app.vnc.viewerCount(sessionId), 1);

    const again = openViewer(system.baseUrl, url);
    assert.deepEqual(await again.closed, {
      code: CloseCode.ticketInvalid,
      reason: 'ticket is invalid, used or expired',
    });
    assert.equal(again.text(), '', 'a refused viewer gets no session bytes');
    viewer.ws.close();
    await waitFor('the viewer to be gone', () => system.app.vnc.viewerCount(sessionId) === 0);
    // The session's history tells who watched and when they left.
    const kinds = await waitFor('viewer events in the session history', async () => {
      const events = await api(system.baseUrl, 'GET', `/api/v1/sessions/${sessionId}/events`, {
        token: alice.token,
      });
      const seen = (events.body.items as { kind: string; actor: string }[])
        .filter((event) => event.kind.startsWith('viewer_'))
        .map((event) => `${event.kind} ${event.actor}`);
      return seen.length === 2 ? seen : undefined;
    });
    assert.deepEqual(kinds, ['viewer_connected user:alice', 'viewer_disconnected user:alice']);
  });

  it('refuses wrong, expired and other-session tickets with 4013', async () => {
    const sessionId = await createSession(alice.id);
    const wrong = openViewer(system.baseUrl, `/vnc/${sessionId}?ticket=sst_nope`);
    assert.equal((await wrong.closed).code, CloseCode.ticketInvalid);
    const missing = openViewer(system.baseUrl, `/vnc/${sessionId}`);
    assert.equal((await missing.closed).code, CloseCode.ticketInvalid);

    const other = await createSession(alice.id);
    const { ticket } = await ticketFor(alice.token, other);
    const crossed = openViewer(system.baseUrl, `/vnc/${sessionId}?ticket=${ticket}`);
    assert.equal((await crossed.closed).code, CloseCode.ticketInvalid);

    const { url } = await ticketFor(alice.token, sessionId);
    clock.advance(30_001);
    const expired = openViewer(system.baseUrl, url);
    assert.deepEqual(await expired.closed, {
      code: CloseCode.ticketInvalid,
      reason: 'ticket is invalid, used or expired',
    });
  });

  it('refuses a foreign Origin with 4014 and accepts an allowed one', async () => {
    const sessionId = await createSession(alice.id);
    const { url } = await ticketFor(alice.token, sessionId);
    const foreign = openViewer(system.baseUrl, url, 'https://evil.example');
    assert.deepEqual(await foreign.closed, {
      code: CloseCode.originForbidden,
      reason: 'origin not allowed',
    });
    // The refused attempt did not burn the ticket's single use... it did not reach it.
    const same = openViewer(system.baseUrl, url, system.baseUrl);
    await waitFor('the banner for the same-origin viewer', () => same.text() === BANNER);
    same.ws.close();
  });

  it('closes with 4011 when the session stopped after the ticket was issued', async () => {
    const sessionId = await createSession(alice.id);
    const { url } = await ticketFor(alice.token, sessionId);
    await system.app.db
      .updateTable('sessions')
      .set({ state: 'stopped' })
      .where('id', '=', sessionId)
      .execute();
    const viewer = openViewer(system.baseUrl, url);
    assert.deepEqual(await viewer.closed, {
      code: CloseCode.sessionNotRunning,
      reason: 'session is stopped, not running',
    });
  });

  it("closes with 4010 when the session's agent is not connected", async () => {
    const offline = await enrollTestAgent(system.baseUrl, admin, 'offline-agent');
    const sessionId = await createSession(alice.id, 'running', offline.agentId);
    const { url } = await ticketFor(alice.token, sessionId);
    const viewer = openViewer(system.baseUrl, url);
    assert.deepEqual(await viewer.closed, {
      code: CloseCode.agentOffline,
      reason: "the session's agent is offline",
    });
  });

  it('closes with 4012 when the session port refuses, and 1000 when the session hangs up', async () => {
    const sessionId = await createSession(alice.id);
    const closedServer = createServer();
    closedServer.listen(0, '127.0.0.1');
    await once(closedServer, 'listening');
    const closedPort = (closedServer.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closedServer.close(() => resolve()));
    targetPort = () => closedPort;
    try {
      const refused = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
      assert.deepEqual(await refused.closed, {
        code: CloseCode.streamFailed,
        reason: 'stream failed: connect_failed',
      });
    } finally {
      targetPort = () => target.port;
    }

    const hangUp = createServer((socket) => socket.end('RFB 003.008\n'));
    hangUp.listen(0, '127.0.0.1');
    await once(hangUp, 'listening');
    targetPort = () => (hangUp.address() as AddressInfo).port;
    try {
      const viewer = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
      assert.deepEqual(await viewer.closed, {
        code: CloseCode.normal,
        reason: 'the session closed the connection',
      });
      assert.equal(viewer.text(), BANNER, 'bytes sent before the hang-up arrive first');
    } finally {
      targetPort = () => target.port;
      hangUp.close();
    }
  });

  it('serves two viewers at once; closing one leaves the other; a new viewer works', async () => {
    const sessionId = await createSession(alice.id);
    const first = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
    const second = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
    await waitFor('both banners', () => first.text() === BANNER && second.text() === BANNER);
    assert.equal(system.app.vnc.viewerCount(sessionId), 2);

    first.ws.close();
    await first.closed;
    second.ws.send(Buffer.from('still alive'));
    await waitFor(
      'the second viewer to keep working',
      () => second.text() === `${BANNER}still alive`,
    );

    const third = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
    await waitFor('the third viewer banner', () => third.text() === BANNER);
    third.ws.send(Buffer.from('hi'));
    await waitFor('the third viewer echo', () => third.text() === `${BANNER}hi`);
    await waitFor('two viewers counted', () => system.app.vnc.viewerCount(sessionId) === 2);
    second.ws.close();
    third.ws.close();
  });

  it('closes every viewer with 4010 when the agent link drops, and works again after it returns', async () => {
    const credential = await enrollTestAgent(system.baseUrl, admin, 'flaky-agent');
    let flaky = await connectTestAgent(system.baseUrl, credential, () => target.port, planned);
    const sessionId = await createSession(alice.id, 'running', flaky.agentId);
    const viewers = [
      openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url),
      openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url),
    ];
    await waitFor('both banners', () => viewers.every((viewer) => viewer.text() === BANNER));
    flaky.kill();
    for (const viewer of viewers) {
      assert.deepEqual(await viewer.closed, {
        code: CloseCode.agentOffline,
        reason: 'the agent went offline',
      });
    }
    flaky = await connectTestAgent(system.baseUrl, credential, () => target.port, planned);
    const again = openViewer(system.baseUrl, (await ticketFor(alice.token, sessionId)).url);
    await waitFor('a viewer after the agent reconnected', () => again.text() === BANNER);
    again.ws.close();
    flaky.kill();
  });
});
