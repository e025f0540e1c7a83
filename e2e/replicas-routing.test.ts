import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { CloseCode } from '@streamspace/protocol';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  api,
  loginAs,
  startTestApp,
  TEST_ADMIN_PASSWORD,
  type TestApp,
} from '../apps/control-plane/test/test-app';
import {
  connectTestAgent,
  enrollTestAgent,
  startBannerEchoServer,
  type TestAgent,
} from '../apps/control-plane/test/vnc-test-agent';
import { REPLICA_STREAM_PATH } from '../apps/control-plane/src/replicas/replica-stream-protocol';

// Two control planes (createApp, in this process) on one PostgreSQL database, and an agent
// speaking the real link protocol whose "session" is a stand-in VNC server (banner + echo).
// e2e/replicas.test.ts does the same with real processes and a real Xvnc desktop.

const BANNER = 'RFB 003.008\n';

interface Viewer {
  ws: WebSocket;
  text(): string;
  closed: Promise<{ code: number; reason: string }>;
}

function openViewer(baseUrl: string, path: string): Viewer {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, ['binary'], {
    perMessageDeflate: false,
  });
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(data));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, closed, text: () => Buffer.concat(received).toString() };
}

/** A viewer completes the banner exchange: the session's bytes reach it and its bytes reach the session. */
async function assertStreams(viewer: Viewer): Promise<void> {
  await waitFor('the RFB banner', () => viewer.text() === BANNER);
  viewer.ws.send(Buffer.from('RFB 003.008\n'));
  await waitFor('the echo', () => viewer.text() === BANNER + 'RFB 003.008\n');
}

describe('two control-plane replicas on one database route viewers to the agent link', () => {
  const secret = randomBytes(32).toString('base64url');
  const env = {
    STREAMSPACE_REPLICA_SECRET: secret,
    // Liveness is not what this file waits for: nothing may expire on a slow machine.
    STREAMSPACE_HEARTBEAT_INTERVAL_MS: '1000',
    STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000',
  };
  const sessionIds = Array.from({ length: 5 }, () => randomUUID());
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let target: Awaited<ReturnType<typeof startBannerEchoServer>>;
  /** Where the agent's "driver" connects: the echo server unless a test points elsewhere. */
  let targetPort = () => target.port;
  let credential: { agentId: string; secret: string };
  let onB: TestAgent;
  const agents: TestAgent[] = [];

  before(async () => {
    database = await createTestDatabase();
    a = await startTestApp({ database, env });
    b = await startTestApp({ database, env });
    admin = await loginAs(a.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    target = await startBannerEchoServer();
    credential = await enrollTestAgent(a.baseUrl, admin, 'replicated-agent');
    const user = await a.app.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    const template = await a.app.db.selectFrom('templates').select('id').executeTakeFirstOrThrow();
    for (const id of sessionIds) {
      await a.app.db
        .insertInto('sessions')
        .values({
          id,
          userId: user.id,
          templateId: template.id,
          platform: 'local',
          agentId: credential.agentId,
          state: 'running',
          stateReason: '',
          homeKey: 'home-admin',
          vncPassword: 'secret12',
          details: '{}',
        })
        .execute();
    }
    onB = await connectTestAgent(
      b.baseUrl,
      credential,
      () => targetPort(),
      () => sessionIds,
    );
    agents.push(onB);
  });
  after(async () => {
    for (const agent of agents) agent.kill();
    await a?.stop();
    await b?.stop();
    await target?.close();
    await database?.drop();
  });

  async function viewerPath(baseUrl: string, sessionId: string): Promise<string> {
    const response = await api(baseUrl, 'POST', `/api/v1/sessions/${sessionId}/connect`, {
      token: admin,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.url as string;
  }

  it('a viewer on the replica without the agent link streams through the one holding it', async () => {
    assert.equal(a.app.hub.isConnected(credential.agentId), false);
    assert.equal(b.app.hub.isConnected(credential.agentId), true);
    const viewer = openViewer(a.baseUrl, await viewerPath(a.baseUrl, sessionIds[0]!));
    await assertStreams(viewer);
    assert.equal(a.app.vnc.viewerCount(sessionIds[0]!), 1, 'the viewer counts where it is');
    // A second viewer on A and one on B itself share the session.
    const second = openViewer(a.baseUrl, await viewerPath(a.baseUrl, sessionIds[0]!));
    const local = openViewer(b.baseUrl, await viewerPath(b.baseUrl, sessionIds[0]!));
    await assertStreams(second);
    await assertStreams(local);
    // The owner reports the two routes it serves for A's viewers (B's own viewer is local).
    const metrics = await fetch(`${b.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.match(await metrics.text(), /^streamspace_replica_routes_served 2$/m);
    // Whichever replica answers, the session shows all three viewers.
    const viewersOn = async (baseUrl: string) =>
      (await api(baseUrl, 'GET', `/api/v1/sessions/${sessionIds[0]}`, { token: admin })).body
        .viewerCount as number;
    await waitFor('three viewers on A and on B', async () => {
      const counts = [await viewersOn(a.baseUrl), await viewersOn(b.baseUrl)];
      return counts.every((count) => count === 3) || undefined;
    });
    viewer.ws.close();
    assert.equal((await viewer.closed).code, 1005);
    await assertStreams(openViewer(a.baseUrl, await viewerPath(a.baseUrl, sessionIds[1]!))).finally(
      () => {
        second.ws.close();
        local.ws.close();
      },
    );
    await waitFor('no viewers left on A or B', async () => {
      const counts = [await viewersOn(a.baseUrl), await viewersOn(b.baseUrl)];
      return counts.every((count) => count === 0) || undefined;
    });
  });

  it('a routed viewer that stops reading holds the session back at a bounded backlog, then gets every byte', async () => {
    // A "session" that writes a counting byte pattern as fast as its socket takes it.
    let written = 0;
    const flood = createServer((socket) => {
      socket.on('error', () => {});
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!socket.destroyed) {
          for (let i = 0; i < chunk.length; i += 1) chunk[i] = (written + i) % 251;
          written += chunk.length;
          if (!socket.write(Buffer.from(chunk))) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
    targetPort = () => (flood.address() as AddressInfo).port;
    try {
      const path = await viewerPath(a.baseUrl, sessionIds[4]!);
      const ws = new WebSocket(`${a.baseUrl.replace(/^http/, 'ws')}${path}`, ['binary'], {
        perMessageDeflate: false,
      });
      let received = 0;
      let intact = true;
      ws.on('message', (data: Buffer) => {
        for (let i = 0; i < data.length && intact; i += 4093) {
          intact = data[i] === (received + i) % 251;
        }
        received += data.length;
      });
      await waitFor('the first bytes', () => received > 0);
      ws.pause();
      // The writes stall once every buffer on the way is full: the route's, both replicas',
      // the agent's window and the kernel's socket buffers, all bounded.
      let last = -1;
      let steady = 0;
      await waitFor(
        "the session's writes to stall",
        () => {
          steady = written === last ? steady + 1 : 0;
          last = written;
          return steady >= 10;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.ok(written < 64 * 1024 * 1024, `backlog bounded: ${written} bytes written`);
      const stalledAt = written;
      ws.resume();
      await waitFor('every stalled byte to arrive', () => received >= stalledAt, {
        timeoutMs: 30_000,
      });
      assert.ok(intact, 'the bytes arrive in order, none lost or repeated');
      ws.close();
    } finally {
      targetPort = () => target.port;
      await new Promise<void>((resolve) => flood.close(() => resolve()));
    }
  });

  it('refuses a route without the replica secret; a replica with the wrong one tells its viewer', async () => {
    const query = `?agentId=${credential.agentId}&sessionId=${sessionIds[0]}&port=5900`;
    for (const authorization of [undefined, `Bearer ${secret}x`, `Bearer ${secret.slice(1)}`]) {
      const ws = new WebSocket(
        `${b.baseUrl.replace(/^http/, 'ws')}${REPLICA_STREAM_PATH}${query}`,
        {
          headers: {
            ...(authorization === undefined ? {} : { authorization }),
            'x-streamspace-replica-target': b.config.replicaId,
          },
        },
      );
      const status = await new Promise<number>((resolve, reject) => {
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        ws.once('open', () => reject(new Error('a route without the secret was accepted')));
        ws.once('error', reject);
      });
      ws.terminate();
      assert.equal(status, 401);
    }

    const wrong = await startTestApp({
      database,
      env: { ...env, STREAMSPACE_REPLICA_SECRET: randomBytes(32).toString('base64url') },
    });
    try {
      const viewer = openViewer(wrong.baseUrl, await viewerPath(wrong.baseUrl, sessionIds[0]!));
      assert.deepEqual(await viewer.closed, {
        code: CloseCode.agentOffline,
        reason: "the control-plane replica holding the agent's link refused the route",
      });
      assert.equal(viewer.text(), '', 'no session byte reached the refused viewer');
    } finally {
      await wrong.stop();
    }
  });

  it("does not trust a dead replica's ownership, and says which owner failed", async () => {
    // A replica that crashed: its row names a port nobody listens on any more.
    const ghost = `ghost-${randomUUID().slice(0, 8)}`;
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    await a.app.db
      .insertInto('replicas')
      .values({
        id: ghost,
        url: `http://127.0.0.1:${closedPort}`,
        startedAt: new Date(),
        heartbeatAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
      })
      .execute();
    // A second agent whose row claims the ghost holds its link (the ghost never cleared it).
    const orphaned = await enrollTestAgent(a.baseUrl, admin, 'ghost-agent');
    const sessionId = sessionIds[3]!;
    await a.app.db
      .updateTable('sessions')
      .set({ agentId: orphaned.agentId })
      .where('id', '=', sessionId)
      .execute();
    await a.app.db
      .updateTable('agents')
      .set({ status: 'online', connectedReplica: ghost, lastHeartbeatAt: new Date() })
      .where('id', '=', orphaned.agentId)
      .execute();
    const unreachable = openViewer(a.baseUrl, await viewerPath(a.baseUrl, sessionId));
    assert.deepEqual(await unreachable.closed, {
      code: CloseCode.agentOffline,
      reason: "the control-plane replica holding the agent's link is unreachable",
    });
    // Its heartbeat ran out: not even tried.
    await a.app.db
      .updateTable('replicas')
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where('id', '=', ghost)
      .execute();
    const expired = openViewer(a.baseUrl, await viewerPath(a.baseUrl, sessionId));
    assert.deepEqual(await expired.closed, {
      code: CloseCode.agentOffline,
      reason: "the control-plane replica holding the agent's link is not responding",
    });
  });

  it("an agent that moved to another replica keeps its ownership through the old one's cleanup", async () => {
    // The agent dials A while its link to B is still up (B has not noticed it is stale).
    const onA = await connectTestAgent(
      a.baseUrl,
      credential,
      () => targetPort(),
      () => sessionIds,
    );
    agents.push(onA);
    const owner = async () =>
      (
        await a.app.db
          .selectFrom('agents')
          .select('connectedReplica')
          .where('id', '=', credential.agentId)
          .executeTakeFirstOrThrow()
      ).connectedReplica;
    assert.equal(await owner(), a.config.replicaId);
    // The old link dies now; B's cleanup runs (its offline event comes after its write) and
    // must leave A's ownership alone.
    const cleanedUp = new Promise<void>((resolve) => {
      const stop = b.app.hub.onAgentOffline((agentId) => {
        if (agentId !== credential.agentId) return;
        stop();
        resolve();
      });
    });
    onB.kill();
    await cleanedUp;
    assert.equal(await owner(), a.config.replicaId, 'ownership still names A');
    const row = await a.app.db
      .selectFrom('agents')
      .select('status')
      .where('id', '=', credential.agentId)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'online');
    // And the routing follows the ownership: a viewer on B now streams through A.
    const viewer = openViewer(b.baseUrl, await viewerPath(b.baseUrl, sessionIds[2]!));
    await assertStreams(viewer);
    viewer.ws.close();
  });

  it('an agent deleted through one replica loses its link on the other', async () => {
    const doomed = await enrollTestAgent(a.baseUrl, admin, 'doomed-agent');
    const agent = await connectTestAgent(b.baseUrl, doomed, () => target.port);
    agents.push(agent);
    const closed = new Promise<number>((resolve) => agent.ws.once('close', resolve));
    const deleted = await api(a.baseUrl, 'DELETE', `/api/v1/agents/${doomed.agentId}`, {
      token: admin,
    });
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.equal(await closed, CloseCode.agentDeleted);
  });

  it('a routed viewer hears the owner replica went away; a new one works once the agent is back', async () => {
    // Now the agent is on A; a viewer on B is routed to A, and A shuts down.
    const viewer = openViewer(b.baseUrl, await viewerPath(b.baseUrl, sessionIds[1]!));
    await assertStreams(viewer);
    await a.stop();
    assert.deepEqual(await viewer.closed, {
      code: CloseCode.agentOffline,
      reason: "the control-plane replica holding the agent's link went away",
    });
    const agent = await connectTestAgent(
      b.baseUrl,
      credential,
      () => targetPort(),
      () => sessionIds,
    );
    agents.push(agent);
    const again = openViewer(b.baseUrl, await viewerPath(b.baseUrl, sessionIds[1]!));
    await assertStreams(again);
    again.ws.close();
  });
});
