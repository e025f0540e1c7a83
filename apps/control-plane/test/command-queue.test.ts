import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '@streamspace/protocol';
import { FakeDriver } from '@streamspace/agent-runtime/fake-driver';
import { createTestDatabase, FakeClock, waitFor, type TestDatabase } from '@streamspace/test-kit';
import type { CommandOutcomeEvent } from '../src/commands/command-queue';
import {
  commandStates,
  insertSession,
  RawAgentSocket,
  registerAgent,
  startControlPlane,
  startFakeAgent,
  startPayload,
  waitForCommandStates,
  type ControlPlane,
} from './agent-test-harness';

describe('command queue: redelivery and at-most-once', () => {
  let database: TestDatabase;
  let cp: ControlPlane;

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database, {
      env: { STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000' },
    });
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
  });

  it('re-sends un-acknowledged and unfinished commands on reconnect; each is applied once', async () => {
    const identity = await registerAgent(cp);
    const { app } = cp;
    const sessions = await Promise.all(
      [1, 2, 3, 4].map(() => insertSession(app, identity.agentId)),
    );
    const outcomes: CommandOutcomeEvent[] = [];
    app.commands.onOutcome((event) => void outcomes.push(event));

    // 1. An agent link that receives two commands and drops without acknowledging them.
    const raw = RawAgentSocket.forAgent(cp.url, identity);
    await raw.opened;
    raw.hello(identity);
    await waitFor('welcome', () => raw.ofType('welcome').length > 0);
    const c1 = await app.commands.enqueue({
      agentId: identity.agentId,
      sessionId: sessions[0]!,
      payload: startPayload(sessions[0]!),
    });
    const c2 = await app.commands.enqueue({
      agentId: identity.agentId,
      sessionId: sessions[1]!,
      payload: startPayload(sessions[1]!),
    });
    await waitFor('both commands sent', () => raw.ofType('command').length === 2);
    raw.close();
    await waitFor('the agent to be offline', () => !app.hub.isConnected(identity.agentId));
    assert.deepEqual(await commandStates(app, [c1.id, c2.id]), ['sent', 'sent']);

    // 2. The real runtime connects; its driver holds every operation until released.
    const driver = new FakeDriver('docker');
    driver.hold();
    const { runtime } = startFakeAgent(cp.url, identity, { driver });
    try {
      await waitFor('both re-sent commands acknowledged', async () =>
        (await commandStates(app, [c1.id, c2.id])).every((state) => state === 'acked'),
      );
      const c3 = await app.commands.enqueue({
        agentId: identity.agentId,
        sessionId: sessions[2]!,
        payload: startPayload(sessions[2]!),
      });
      await waitForCommandStates(app, [c3.id], 'acked', 'c3 acknowledged');
      assert.equal(driver.calls.length, 3, 'three starts are running (held)');

      // 3. The link drops while the driver works: acked commands come again after hello.
      app.hub.disconnect(identity.agentId, CloseCode.goingAway, 'test: network drop');
      await waitFor('the runtime to reconnect', () => runtime.connectionCount() === 2);
      const c4 = await app.commands.enqueue({
        agentId: identity.agentId,
        sessionId: sessions[3]!,
        payload: startPayload(sessions[3]!),
      });
      await waitForCommandStates(app, [c4.id], 'acked', 'c4 acknowledged');
      // 4. Drop once more and finish the work while the link is down: results are lost
      // with the socket, and the re-sent commands get the recorded outcome.
      app.hub.disconnect(identity.agentId, CloseCode.goingAway, 'test: second drop');
      driver.release();
      const all = [c1.id, c2.id, c3.id, c4.id];
      await waitForCommandStates(app, all, 'completed', 'every command completed');
      for (const sessionId of sessions)
        assert.equal(driver.count('start', sessionId), 1, `session ${sessionId} started once`);
      assert.equal(driver.calls.length, 4, 'no operation ran twice');
      // Outcome listeners run after the row is updated: wait for them.
      await waitFor(
        'one outcome event per command',
        () => outcomes.filter((event) => all.includes(event.command.id)).length >= 4,
      );
      const completed = outcomes.filter((event) => all.includes(event.command.id));
      assert.equal(completed.length, 4, 'exactly one outcome event per command');
      for (const { result } of completed) {
        assert.ok(
          result.kind === 'completed' &&
            result.outcome.ok &&
            result.outcome.observation?.status === 'running',
          'completed with the running observation',
        );
      }
      const row = await app.db
        .selectFrom('agentCommands')
        .select('attempts')
        .where('id', '=', c1.id)
        .executeTakeFirstOrThrow();
      assert.ok(row.attempts >= 3, `c1 was sent at least 3 times (${row.attempts})`);
    } finally {
      await runtime.stop();
    }
  });

  it('enqueue in a transaction: sent after commit, never when rolled back', async () => {
    const identity = await registerAgent(cp);
    const raw = RawAgentSocket.forAgent(cp.url, identity);
    await raw.opened;
    raw.hello(identity);
    await waitFor('welcome', () => raw.ofType('welcome').length > 0);
    const committedSession = await insertSession(cp.app, identity.agentId);
    const rolledBackSession = await insertSession(cp.app, identity.agentId);
    const committed = await cp.app.db.transaction().execute((trx) =>
      cp.app.commands.enqueue(
        {
          agentId: identity.agentId,
          sessionId: committedSession,
          payload: startPayload(committedSession),
        },
        trx,
      ),
    );
    await waitFor('the committed command', () =>
      raw.ofType('command').some((message) => message.commandId === committed.id),
    );
    await assert.rejects(
      cp.app.db.transaction().execute(async (trx) => {
        await cp.app.commands.enqueue(
          {
            agentId: identity.agentId,
            sessionId: rolledBackSession,
            payload: startPayload(rolledBackSession),
          },
          trx,
        );
        throw new Error('roll back');
      }),
      /roll back/,
    );
    const marker = await cp.app.commands.enqueue({
      agentId: identity.agentId,
      sessionId: committedSession,
      payload: { type: 'hibernate_session', sessionId: committedSession },
    });
    await waitFor('a later command', () =>
      raw.ofType('command').some((message) => message.commandId === marker.id),
    );
    assert.equal(
      raw.ofType('command').filter((message) => message.command.sessionId === rolledBackSession)
        .length,
      0,
      'the rolled-back command was never sent',
    );
    raw.close();
  });

  it('a failing driver operation completes the command as failed with its code', async () => {
    const identity = await registerAgent(cp);
    const sessionId = await insertSession(cp.app, identity.agentId);
    const driver = new FakeDriver('docker');
    driver.failNext('start', sessionId, new Error('disk on fire'));
    const { runtime } = startFakeAgent(cp.url, identity, { driver });
    try {
      await waitFor('connected', () => runtime.isConnected());
      const command = await cp.app.commands.enqueue({
        agentId: identity.agentId,
        sessionId,
        payload: startPayload(sessionId),
      });
      await waitForCommandStates(cp.app, [command.id], 'failed', 'the command to fail');
      const row = await cp.app.db
        .selectFrom('agentCommands')
        .select(['error', 'outcome'])
        .where('id', '=', command.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.error, 'platform_error: disk on fire');
      assert.equal(row.outcome?.ok, false);
    } finally {
      await runtime.stop();
    }
  });

  it('results for unknown or finished commands are ignored and the link keeps serving', async () => {
    const identity = await registerAgent(cp);
    const raw = RawAgentSocket.forAgent(cp.url, identity);
    await raw.opened;
    raw.hello(identity);
    await waitFor('welcome', () => raw.ofType('welcome').length > 0);
    const sessionId = await insertSession(cp.app, identity.agentId);
    const command = await cp.app.commands.enqueue({
      agentId: identity.agentId,
      sessionId,
      payload: { type: 'hibernate_session', sessionId },
    });
    await waitFor('command', () => raw.ofType('command').length === 1);
    raw.send({ type: 'command_ack', commandId: command.id });
    raw.send({ type: 'command_result', commandId: command.id, outcome: { ok: true } });
    raw.send({
      type: 'command_result',
      commandId: command.id,
      outcome: { ok: false, error: { code: 'platform_error', message: 'late duplicate' } },
    });
    raw.send({ type: 'command_result', commandId: randomUUID(), outcome: { ok: true } });
    await waitForCommandStates(cp.app, [command.id], 'completed', 'completed by the first result');
    raw.send({ type: 'heartbeat', activeSessions: 0 });
    await waitFor('heartbeat handled', async () => raw.ofType('error').length === 0);
    assert.deepEqual(await commandStates(cp.app, [command.id]), ['completed']);
    assert.equal(raw.closeCode, undefined);

    const metrics = await (
      await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${cp.adminToken}` } })
    ).text();
    const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? NaN);
    assert.ok(value(/^streamspace_agent_commands\{state="completed"\} (\d+)/m) >= 1);
    assert.ok(value(/^streamspace_connected_agents\{platform="docker"\} (\d+)/m) >= 1);
    assert.ok(
      value(/^streamspace_command_dispatch_seconds_count\{type="hibernate_session"\} (\d+)/m) >= 1,
    );
    assert.ok(
      value(/^streamspace_agent_messages_total\{type="command_result",outcome="ok"\} (\d+)/m) >= 3,
    );
    raw.close();
  });
});

describe('command queue: offline agents and deadlines (fake clock)', () => {
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

  it('waits for an offline agent until the deadline: completes within it, expires after it', async () => {
    const identity = await registerAgent(cp);
    const { app } = cp;
    const early = await insertSession(app, identity.agentId);
    const late = await insertSession(app, identity.agentId);
    const outcomes: CommandOutcomeEvent[] = [];
    app.commands.onOutcome((event) => void outcomes.push(event));
    const patient = await app.commands.enqueue({
      agentId: identity.agentId,
      sessionId: early,
      payload: startPayload(early),
      deadlineMs: 120_000,
    });
    const impatient = await app.commands.enqueue({
      agentId: identity.agentId,
      sessionId: late,
      payload: startPayload(late),
      deadlineMs: 30_000,
    });

    clock.advance(29_000);
    await app.commands.sweep();
    assert.deepEqual(await commandStates(app, [patient.id, impatient.id]), ['pending', 'pending']);

    clock.advance(60_000);
    await waitFor('the late command to expire', () =>
      outcomes.find((event) => event.command.id === impatient.id),
    );
    assert.deepEqual(await commandStates(app, [patient.id, impatient.id]), ['pending', 'expired']);
    const expired = outcomes.find((event) => event.command.id === impatient.id);
    assert.equal(expired?.result.kind, 'expired');
    assert.match(
      expired?.result.kind === 'expired' ? expired.result.reason : '',
      /not connected before the command deadline/,
    );

    // The agent comes back 89 s after the commands were queued: within the first deadline.
    const { runtime, driver } = startFakeAgent(cp.url, identity);
    try {
      await waitForCommandStates(app, [patient.id], 'completed', 'the patient command to complete');
      assert.equal(driver.count('start', early), 1);
      assert.equal(driver.count('start', late), 0, 'an expired command is never sent');
      const done = await waitFor('the outcome event', () =>
        outcomes.find((event) => event.command.id === patient.id),
      );
      assert.equal(done.result.kind, 'completed');
    } finally {
      await runtime.stop();
    }
  });
});
