import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { WebSocket } from 'ws';
import { CloseCode } from '@streamspace/protocol';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { assertDesktopPixels, LifecycleClient } from './lifecycle-support';
import { startAgent, type RunningAgent } from './support/start-agent';
import { startSystem, type RunningSystem } from './support/start-system';

/**
 * What sits in front of the replicas in production (a Kubernetes Service, a load balancer):
 * a loopback TCP forwarder whose target the test moves from one replica to the other.
 */
async function startForwarder(initialPort: number) {
  let targetPort = initialPort;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Send new connections to this port; existing ones stay where they are. */
    retarget(port: number) {
      targetPort = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('two control-plane processes on one database; the agent on one, the viewer on the other', () => {
  const secret = randomBytes(32).toString('base64url');
  let database: TestDatabase;
  let replicaA: RunningSystem;
  let replicaB: RunningSystem;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  let agent: RunningAgent;
  let client: LifecycleClient;
  let sessionId: string;

  async function linkOwnerUrl(agentId: string): Promise<string | null> {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const result = await db.query<{ url: string | null }>(
        `SELECT r.url FROM agents a LEFT JOIN replicas r ON r.id = a.connected_replica
          WHERE a.id = $1 AND a.status = 'online'`,
        [agentId],
      );
      return result.rows[0]?.url ?? null;
    } finally {
      await db.end();
    }
  }

  before(async () => {
    database = await createTestDatabase();
    const env = { STREAMSPACE_REPLICA_SECRET: secret };
    replicaA = await startSystem({ embeddedAgent: 'none', database, env });
    replicaB = await startSystem({ embeddedAgent: 'none', database, env });
    forwarder = await startForwarder(replicaB.port);
    // The agent (and its enrollment) goes through the forwarder, which leads to B for now.
    agent = await startAgent(forwarder.url, await replicaA.login(), 'local', 'e2e-replicas');
    assert.equal(await linkOwnerUrl(await agent.agentId()), replicaB.baseUrl);
    client = new LifecycleClient(replicaA.baseUrl, await replicaA.login());
    sessionId = (await client.create('terminal', 'local')).id;
    await client.waitForState(sessionId, ['running'], 60_000);
  });
  after(async () => {
    await client?.removeAndWaitStopped(sessionId);
    await agent?.stop();
    await replicaA?.close();
    await replicaB?.close();
    await forwarder?.close();
    await database?.drop();
  });

  test('a viewer on replica A gets the desktop held by the agent link on replica B', async () => {
    const viewer = await client.openViewer(sessionId);
    await assertDesktopPixels(viewer);
    assert.equal((await client.get(sessionId)).viewerCount, 1, 'counted on the replica it uses');
    viewer.probe.close();
    await viewer.closed;
  });

  test("a route with the wrong replica secret is refused by B's internal endpoint", async () => {
    const agentId = await agent.agentId();
    const url =
      `${replicaB.baseUrl.replace(/^http/, 'ws')}/internal/v1/replica-streams` +
      `?agentId=${agentId}&sessionId=${sessionId}&port=5900`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer wrong-${secret}` } });
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the route was accepted with a wrong secret')));
      ws.once('error', reject);
    });
    ws.terminate();
    assert.equal(status, 401);
  });

  test('when B dies the viewer on A is told why; once the agent is on A a viewer works', async () => {
    const viewer = await client.openViewer(sessionId);
    await assertDesktopPixels(viewer);
    // Asked now: once B is gone, a kept-alive connection through the forwarder to B fails.
    const agentId = await agent.agentId();
    forwarder.retarget(replicaA.port);
    await replicaB.controlPlane.kill();
    const closed = await viewer.closed;
    assert.equal(closed.code, CloseCode.agentOffline);
    assert.equal(closed.reason, "the control-plane replica holding the agent's link went away");

    // The agent redials through the forwarder and lands on A.
    await waitFor(
      'the agent link to be on A',
      async () => (await linkOwnerUrl(agentId)) === replicaA.baseUrl,
      { timeoutMs: 30_000 },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message} (agent exited: ${agent.exited()})\n--- agent ---\n${agent.output().slice(-3000)}` +
          `\n--- replica A ---\n${replicaA.controlPlane.output().slice(-3000)}`,
      );
    });
    const session = await client.get(sessionId);
    assert.equal(session.state, 'running', `still running (${session.stateReason})`);
    const again = await client.openViewer(sessionId);
    await assertDesktopPixels(again);
    again.probe.close();
  });
});
