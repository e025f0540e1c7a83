import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CloseCode } from '@streamspace/protocol';
import { createTestDatabase, FakeClock, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  RawAgentSocket,
  registerAgent,
  startControlPlane,
  type ControlPlane,
} from './agent-test-harness';

/**
 * The server parsed every frame sent before this: a ping is answered in order with the data
 * frames before it, so the pong proves their arrival (not their handling). A closed link
 * answers no ping: its close ends the wait too.
 */
async function arrived(socket: RawAgentSocket): Promise<void> {
  if (socket.closeCode !== undefined) return;
  // Plain listeners, removed after: events.once would leave one 'close' and one 'error'
  // listener per call behind (MaxListenersExceededWarning), and reject on an 'error'.
  await new Promise<void>((resolve) => {
    const done = () => {
      socket.ws.off('pong', done);
      socket.ws.off('close', done);
      resolve();
    };
    socket.ws.on('pong', done);
    socket.ws.on('close', done);
    socket.ws.ping();
  });
}

/**
 * A new agent link whose hello work (the hub's hello listeners) stays unfinished until
 * `release()`: its later messages queue behind it, as in a reconnect storm.
 */
async function connectWithSlowHello(cp: ControlPlane) {
  const identity = await registerAgent(cp);
  let finish = () => {};
  const helloWork = new Promise<void>((resolve) => (finish = resolve));
  // Hello listeners run after the welcome is sent and before the link's next message.
  const off = cp.app.hub.onAgentHello(async (agentId) => {
    if (agentId === identity.agentId) await helloWork;
  });
  const socket = RawAgentSocket.forAgent(cp.url, identity);
  assert.equal(await socket.opened, true);
  socket.hello(identity);
  await waitFor('welcome', () => socket.ofType('welcome').length > 0);
  return {
    identity,
    socket,
    release() {
      finish();
      off();
    },
  };
}

// Found by bench/control-plane-scale.ts: with 2,000 agents connecting at once, hello work
// (reconciliation queries) queued for seconds and the heartbeats queued behind it on the same
// link; the hub closed hundreds of live agents with 4009, which would reconnect into the storm.
describe('agent hub: liveness is the arrival of messages, not their handling (fake clock)', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  const clock = new FakeClock(Date.now());

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database, { clock }); // heartbeat timeout 5 s
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
  });

  it('an agent heartbeating while its hello is still being handled stays connected', async () => {
    const { identity, socket, release } = await connectWithSlowHello(cp);

    for (let second = 2; second <= 12; second += 2) {
      socket.send({ type: 'heartbeat', activeSessions: 0 });
      await arrived(socket);
      clock.advance(2_000);
    }
    // Let the hub's tick run at the advanced time before looking.
    await arrived(socket);
    assert.equal(socket.closeCode, undefined, '12 s of heartbeats queued behind hello: still open');
    assert.equal(cp.app.hub.isConnected(identity.agentId), true);

    release();
    // The queued heartbeats are handled now and the link serves as before.
    socket.send({ type: 'heartbeat', activeSessions: 0 });
    socket.send({ type: 'sync-marker' });
    await waitFor('the marker reply', () => socket.ofType('error').length === 1);
    assert.equal(socket.closeCode, undefined);
    socket.close();
  });

  it('an agent that falls silent while its hello is handled is still closed with 4009', async () => {
    const { socket, release } = await connectWithSlowHello(cp);
    socket.send({ type: 'heartbeat', activeSessions: 0 });
    await arrived(socket);

    clock.advance(4_000);
    await arrived(socket);
    assert.equal(socket.closeCode, undefined, 'not yet: 4 s after its last message');
    clock.advance(1_500);
    await waitFor('close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.heartbeatTimeout);
    assert.match(socket.closeReason, /no heartbeat for 5000 ms/);
    release();
  });
});

// Found by bench/control-plane-scale.ts: with 2,000 agents heartbeating every second, a flush
// outlasting the 500 ms tick had the next tick start another UPDATE over overlapping rows; they
// deadlocked, piled up on the database pool and stalled every REST call for seconds.
describe('agent hub: heartbeat flushes (fake clock)', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  const clock = new FakeClock(Date.now());

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database, { clock }); // heartbeat every 1 s: a tick every 500 ms
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
  });

  it('a slow flush holds one database connection, not one per tick', async () => {
    const identity = await registerAgent(cp);
    const socket = RawAgentSocket.forAgent(cp.url, identity);
    assert.equal(await socket.opened, true);
    socket.hello(identity);
    await waitFor('welcome', () => socket.ofType('welcome').length > 0);
    // Another transaction holds the agent's row: every flush waits for it.
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM agents WHERE id = $1 FOR UPDATE', [identity.agentId]);
      let lastBeat = 0;
      // More ticks with a heartbeat to write than the pool (10) has connections.
      for (let tick = 1; tick <= 12; tick++) {
        socket.send({ type: 'heartbeat', activeSessions: 0 });
        // Handled on arrival: the hub's link has nothing else queued.
        await arrived(socket);
        lastBeat = clock.now();
        clock.advance(500);
      }
      const agent = await fetch(`${cp.url}/api/v1/agents/${identity.agentId}`, {
        headers: { authorization: `Bearer ${cp.adminToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(agent.status, 200, 'the API still reaches the database');
      await locker.query('COMMIT');
      await waitFor('the newest heartbeat in the database', async () => {
        clock.advance(500);
        const row = await cp.app.db
          .selectFrom('agents')
          .select('lastHeartbeatAt')
          .where('id', '=', identity.agentId)
          .executeTakeFirstOrThrow();
        return row.lastHeartbeatAt?.getTime() === lastBeat;
      });
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
      socket.close();
    }
  });
});
