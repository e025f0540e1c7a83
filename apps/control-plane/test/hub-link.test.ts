import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, MAX_CONTROL_MESSAGE_BYTES, PROTOCOL_VERSION } from '@streamspace/protocol';
import { createTestDatabase, FakeClock, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  insertSession,
  RawAgentSocket,
  registerAgent,
  startControlPlane,
  type AgentIdentity,
  type ControlPlane,
} from './agent-test-harness';

async function connected(
  cp: ControlPlane,
  identity: AgentIdentity,
  helloOverrides: Record<string, unknown> = {},
): Promise<RawAgentSocket> {
  const socket = RawAgentSocket.forAgent(cp.url, identity);
  assert.equal(await socket.opened, true, 'the upgrade succeeds');
  socket.hello(identity, helloOverrides);
  await waitFor('welcome', () => socket.ofType('welcome').length > 0);
  return socket;
}

/** The link still serves: a heartbeat is recorded in the agents table. */
async function assertServing(cp: ControlPlane, socket: RawAgentSocket, agentId: string) {
  const before = await cp.app.db
    .selectFrom('agents')
    .select('lastHeartbeatAt')
    .where('id', '=', agentId)
    .executeTakeFirstOrThrow();
  await waitFor('a heartbeat to be recorded', async () => {
    socket.send({ type: 'heartbeat', activeSessions: 0 });
    const row = await cp.app.db
      .selectFrom('agents')
      .select('lastHeartbeatAt')
      .where('id', '=', agentId)
      .executeTakeFirstOrThrow();
    return (row.lastHeartbeatAt?.getTime() ?? 0) > (before.lastHeartbeatAt?.getTime() ?? 0);
  });
  assert.equal(socket.closeCode, undefined, 'the link is still open');
}

describe('agent hub: refusals and bad input', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  let bystander: RawAgentSocket;
  let bystanderIdentity: AgentIdentity;

  before(async () => {
    database = await createTestDatabase();
    // A long timeout: nothing here may time out just because the machine is slow.
    cp = await startControlPlane(database, {
      env: { STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000' },
    });
    bystanderIdentity = await registerAgent(cp, { name: 'bystander' });
    bystander = await connected(cp, bystanderIdentity);
  });
  after(async () => {
    bystander?.close();
    await cp?.app.stop();
    await database?.drop();
  });

  it('records hello facts and welcomes with the heartbeat timings', async () => {
    const identity = await registerAgent(cp);
    const socket = RawAgentSocket.forAgent(cp.url, identity);
    await socket.opened;
    socket.hello(identity, {
      agentVersion: '9.9.9',
      capacity: { maxSessions: 4 },
      clusterInfo: { host: 'box-1' },
    });
    await waitFor('welcome', () => socket.ofType('welcome')[0]);
    const welcome = socket.ofType('welcome')[0];
    assert.equal(welcome?.protocolVersion, PROTOCOL_VERSION);
    assert.equal(welcome?.heartbeatIntervalMs, 1000);
    assert.equal(welcome?.heartbeatTimeoutMs, 60000);
    const row = await cp.app.db
      .selectFrom('agents')
      .selectAll()
      .where('id', '=', identity.agentId)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'online');
    assert.equal(row.agentVersion, '9.9.9');
    assert.deepEqual(row.capacity, { maxSessions: 4 });
    assert.deepEqual(row.clusterInfo, { host: 'box-1' });
    assert.ok(row.connectedReplica !== null);
    assert.equal(cp.app.hub.isConnected(identity.agentId), true);
    socket.close();
    await waitFor('the agent to go offline', async () => {
      const after = await cp.app.db
        .selectFrom('agents')
        .select(['status', 'connectedReplica'])
        .where('id', '=', identity.agentId)
        .executeTakeFirstOrThrow();
      return after.status === 'offline' && after.connectedReplica === null;
    });
  });

  it('a wrong or missing agent secret is HTTP 401 before any upgrade', async () => {
    const identity = await registerAgent(cp);
    const wrong = RawAgentSocket.forAgent(cp.url, {
      agentId: identity.agentId,
      agentSecret: 'ssa_' + 'A'.repeat(43),
    });
    assert.equal(await wrong.opened, false);
    assert.equal(wrong.httpStatus, 401);
    assert.equal(JSON.parse(wrong.httpBody).error.code, 'unauthenticated');
    // Credentials in the URL are never read.
    const inUrl = new RawAgentSocket(
      `${cp.url}/?agentId=${identity.agentId}&secret=${identity.agentSecret}`,
      {},
    );
    assert.equal(await inUrl.opened, false);
    assert.equal(inUrl.httpStatus, 401);
    await assertServing(cp, bystander, bystanderIdentity.agentId);
  });

  it('an unsupported protocol version closes 4005 naming both versions', async () => {
    const identity = await registerAgent(cp);
    const socket = RawAgentSocket.forAgent(cp.url, identity);
    await socket.opened;
    socket.hello(identity, { protocolVersion: PROTOCOL_VERSION + 41, futureField: true });
    await waitFor('close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.protocolVersionUnsupported);
    assert.match(socket.closeReason, new RegExp(`version ${PROTOCOL_VERSION + 41} `));
    assert.match(socket.closeReason, new RegExp(`speaks 1-${PROTOCOL_VERSION}`));
    assert.equal(socket.ofType('error')[0]?.code, 'protocol_version_unsupported');
  });

  it("hello must come first and must name the credential's agent", async () => {
    const identity = await registerAgent(cp);
    const first = RawAgentSocket.forAgent(cp.url, identity);
    await first.opened;
    first.send({ type: 'heartbeat', activeSessions: 0 });
    await waitFor('close', () => first.closeCode !== undefined);
    assert.equal(first.closeCode, CloseCode.invalidMessage);
    assert.match(first.closeReason, /first message must be hello/);

    const other = await registerAgent(cp);
    const impostor = RawAgentSocket.forAgent(cp.url, identity);
    await impostor.opened;
    impostor.hello(identity, { agentId: other.agentId });
    await waitFor('close', () => impostor.closeCode !== undefined);
    assert.equal(impostor.closeCode, CloseCode.forbidden);
    assert.equal(cp.app.hub.isConnected(other.agentId), false);
  });

  it('malformed JSON, an unknown type and a schema violation get error replies; the link keeps serving', async () => {
    const identity = await registerAgent(cp);
    const socket = await connected(cp, identity);
    socket.send('{"type": "heartbeat", ');
    socket.send({ type: 'teleport', where: 'mars' });
    socket.send({ type: 'command_ack', commandId: 'not-a-uuid' });
    await waitFor('three error replies', () => socket.ofType('error').length >= 3);
    const codes = socket.ofType('error').map((message) => message.code);
    assert.deepEqual(codes, ['invalid_message', 'unknown_message', 'invalid_message']);
    assert.match(socket.ofType('error')[1]?.message ?? '', /unknown message type "teleport"/);
    await assertServing(cp, socket, identity.agentId);
    socket.close();
  });

  it('repeated garbage closes the link with 4006; other agents are not disturbed', async () => {
    const identity = await registerAgent(cp);
    const socket = await connected(cp, identity);
    for (let i = 0; i < 12; i++) socket.send('garbage');
    await waitFor('close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.invalidMessage);
    assert.match(socket.closeReason, /invalid messages/);
    await assertServing(cp, bystander, bystanderIdentity.agentId);
  });

  it('an oversized control message or frame closes with 1009; other agents are not disturbed', async () => {
    const identity = await registerAgent(cp);
    const text = await connected(cp, identity);
    text.send(JSON.stringify({ type: 'heartbeat', pad: 'x'.repeat(MAX_CONTROL_MESSAGE_BYTES) }));
    await waitFor('close', () => text.closeCode !== undefined);
    assert.equal(text.closeCode, CloseCode.messageTooBig);
    assert.match(text.closeReason, /exceeds/);

    const binary = await connected(cp, identity);
    binary.ws.send(Buffer.alloc(8 * 1024 * 1024));
    await waitFor('close', () => binary.closeCode !== undefined);
    assert.equal(binary.closeCode, CloseCode.messageTooBig);
    await assertServing(cp, bystander, bystanderIdentity.agentId);
  });

  it('a second connection replaces the first cleanly (4008) and the agent stays online', async () => {
    const identity = await registerAgent(cp);
    const first = await connected(cp, identity);
    const second = await connected(cp, identity);
    await waitFor('the first link to close', () => first.closeCode !== undefined);
    assert.equal(first.closeCode, CloseCode.replaced);
    await assertServing(cp, second, identity.agentId);
    const row = await cp.app.db
      .selectFrom('agents')
      .select('status')
      .where('id', '=', identity.agentId)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'online');
    assert.equal(cp.app.hub.isConnected(identity.agentId), true);
    second.close();
  });
});

describe('agent hub: heartbeats (fake clock)', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  const clock = new FakeClock(Date.now());

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database, { clock });
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
  });

  it('a silent agent goes offline with 4009 and its sessions are untouched', async () => {
    const identity = await registerAgent(cp);
    const sessionId = await insertSession(cp.app, identity.agentId, 'running');
    const offline: string[] = [];
    cp.app.hub.onAgentOffline((agentId, reason) => void offline.push(`${agentId}:${reason}`));
    // The agent reports the session as running, as a real one would; an empty inventory
    // would have the reconnect reconciliation fail the session, racing with this test.
    const socket = await connected(cp, identity, {
      inventory: [{ sessionId, status: 'running', details: {} }],
    });
    const sessionBefore = await cp.app.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();

    clock.advance(4_000);
    assert.equal(socket.closeCode, undefined, 'not yet: the timeout is 5 s');
    clock.advance(1_500);
    await waitFor('close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.heartbeatTimeout);
    assert.match(socket.closeReason, /no heartbeat for 5000 ms/);
    await waitFor('offline event', () => offline.some((e) => e.startsWith(identity.agentId)));
    const agent = await cp.app.db
      .selectFrom('agents')
      .select('status')
      .where('id', '=', identity.agentId)
      .executeTakeFirstOrThrow();
    assert.equal(agent.status, 'offline');
    const sessionAfter = await cp.app.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    assert.deepEqual(sessionAfter, sessionBefore, 'the session row did not change');
  });

  it('heartbeats keep an agent online past the timeout', async () => {
    const identity = await registerAgent(cp);
    const socket = await connected(cp, identity);
    for (let i = 1; i <= 4; i++) {
      socket.send({ type: 'heartbeat', activeSessions: 0 });
      // Messages are handled in order: the error reply to this one proves the heartbeat
      // before it was handled at the current (fake) time.
      socket.send({ type: 'sync-marker' });
      await waitFor('the marker reply', () => socket.ofType('error').length === i);
      clock.advance(3_000);
    }
    assert.equal(socket.closeCode, undefined, '12 s with heartbeats every 3 s: still open');
    socket.send({ type: 'heartbeat', activeSessions: 0 });
    socket.send({ type: 'sync-marker' });
    await waitFor('the marker reply', () => socket.ofType('error').length === 5);
    const heardAt = clock.now();
    clock.advance(1_000);
    await waitFor('the heartbeat batch to reach the database', async () => {
      const row = await cp.app.db
        .selectFrom('agents')
        .select(['lastHeartbeatAt', 'status'])
        .where('id', '=', identity.agentId)
        .executeTakeFirstOrThrow();
      return row.status === 'online' && row.lastHeartbeatAt?.getTime() === heardAt;
    });
    socket.close();
  });

  it('a connection that never says hello is closed after the hello timeout', async () => {
    const identity = await registerAgent(cp);
    const socket = RawAgentSocket.forAgent(cp.url, identity);
    assert.equal(await socket.opened, true);
    clock.advance(10_500);
    await waitFor('close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.invalidMessage);
    assert.match(socket.closeReason, /no hello within/);
  });
});
