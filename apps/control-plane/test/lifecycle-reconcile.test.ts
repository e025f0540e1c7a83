import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createOrphanReconciler } from '../src/scheduler/orphan-reconciler';
import { createLifecycleHarness, MINUTE, type LifecycleHarness } from './lifecycle-harness';

describe('stuck transitions (FakeClock, real PostgreSQL)', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a stop the agent acknowledged and never finished is retried once, then failed with a reason', async () => {
    const id = await h.runningSession();
    await h.sessions.stop(h.principal, id, { deleteHome: false, markDeleted: false });
    const [stop] = (await h.commandsFor(id)).filter((c) => c.type === 'stop_session');
    await h.ackCommand(stop!);
    const s = h.newScheduler();
    await h.start([s]);

    await h.advance(4 * MINUTE, [s]);
    assert.equal((await h.stateOf(id)).state, 'stopping', 'not stuck before the timeout');
    await h.advance(1 * MINUTE, [s]);
    const stops = (await h.commandsFor(id)).filter((c) => c.type === 'stop_session');
    assert.equal(stops.length, 2, 'a second stop was sent');
    assert.deepEqual(stops[1]?.payload, stops[0]?.payload, 'the retry repeats the same stop');
    const retryEvent = (await h.eventsOf(id)).find((e) => e.kind === 'warning');
    assert.equal(retryEvent?.actor, 'scheduler');
    assert.match(
      retryEvent?.reason ?? '',
      /^stop is taking too long: the agent acknowledged it at \d\d:\d\d UTC and reported no result; retrying once$/,
    );

    await h.ackCommand(stops[1]!);
    await h.advance(5 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'failed');
    assert.match(
      stateReason,
      /^stop did not complete: retried once at \d\d:\d\d UTC and the agent acknowledged it at \d\d:\d\d UTC and reported no result; marked failed/,
    );
    assert.equal((await h.commandsFor(id)).filter((c) => c.type === 'stop_session').length, 2);
    const failed = (await h.eventsOf(id)).find((e) => e.toState === 'failed');
    assert.equal(failed?.actor, 'scheduler');
    await s.scheduler.stop();
  });

  test('a hibernation with no command in flight is retried, and the retry finishing completes it', async () => {
    const id = await h.runningSession();
    await h.sessions.moveAndSend(id, 'hibernating', 'user:alice', 'hibernation requested');
    // The command was lost (say, finished without the session moving).
    const [lost] = (await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session');
    await h.db
      .updateTable('agentCommands')
      .set({ state: 'completed' })
      .where('id', '=', lost!.id)
      .execute();
    const s = h.newScheduler();
    await h.start([s]);
    await h.advance(5 * MINUTE, [s]);
    const hibernates = (await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session');
    assert.equal(hibernates.length, 2);
    const reason = (await h.eventsOf(id)).find((e) => e.kind === 'warning')?.reason ?? '';
    assert.match(
      reason,
      /^hibernate is taking too long: its command ended \(completed\) but the session did not move; retrying once$/,
    );

    await h.completeCommand(hibernates[1]!);
    await h.advance(10 * MINUTE, [s]);
    assert.equal((await h.stateOf(id)).state, 'hibernated');
    await s.scheduler.stop();
  });

  test('a wake waiting for an offline agent is left to the queue deadline, then resolved', async () => {
    const id = await h.runningSession();
    await h.sessions.moveAndSend(id, 'hibernating', 'user:alice', 'hibernation requested');
    await h.completeCommand((await h.commandsFor(id)).find((c) => c.type === 'hibernate_session')!);
    await h.sessions.moveAndSend(id, 'waking', 'user:alice', 'wake requested');
    const s = h.newScheduler();
    await h.start([s]);
    await h.advance(10 * MINUTE, [s], 2 * MINUTE);
    assert.equal((await h.stateOf(id)).state, 'waking', 'pending for an offline agent: not stuck');
    assert.equal((await h.commandsFor(id)).filter((c) => c.type === 'wake_session').length, 1);
    // The queue never resolved it (deadline 10 min); the backstop does at deadline + 5 min.
    await h.advance(6 * MINUTE, [s], 2 * MINUTE);
    const wakes = (await h.commandsFor(id)).filter((c) => c.type === 'wake_session');
    assert.equal(wakes.length, 2, 'retried once');
    assert.equal(wakes[1]?.payload.type, 'wake_session');
    await h.advance(16 * MINUTE, [s], 2 * MINUTE);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'failed');
    assert.match(
      stateReason,
      /^wake did not complete: retried once at .* and the agent never took it \(pending since/,
    );
    await s.scheduler.stop();
  });
});

describe('orphans (FakeClock, real PostgreSQL)', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('an unknown session in an inventory is reported, removed after the grace period, and recorded', async () => {
    const tracked = await h.runningSession();
    const orphan = randomUUID();
    const s = h.newScheduler();
    await s.scheduler.onInventory(h.agentId, [
      { sessionId: tracked, status: 'running', details: {} },
      { sessionId: orphan, status: 'running', details: { containerId: 'abc123' } },
    ]);
    const all = await s.scheduler.orphans.list();
    assert.equal(all.length, 1, 'the tracked session is not an orphan');
    let listed = all[0];
    assert.equal(listed?.sessionId, orphan);
    assert.equal(listed?.status, 'reported');
    assert.equal(listed?.knownAs, 'unknown');
    assert.equal(listed?.agentName, 'docker-1');
    assert.deepEqual(listed?.details, { containerId: 'abc123' });

    await h.start([s]);
    await h.advance(4 * MINUTE, [s]);
    assert.equal(
      (await h.commandsFor(orphan)).length,
      0,
      'nothing happens during the grace period',
    );
    await h.advance(1 * MINUTE, [s]);
    const [removal] = await h.commandsFor(orphan);
    assert.equal(removal?.agentId, h.agentId);
    assert.deepEqual(removal?.payload, {
      type: 'stop_session',
      sessionId: orphan,
      deleteHome: false,
    });
    [listed] = await s.scheduler.orphans.list();
    assert.equal(listed?.status, 'removing');

    await h.db
      .updateTable('agentCommands')
      .set({ state: 'completed', finishedAt: new Date(h.clock.now()) })
      .where('id', '=', removal!.id)
      .execute();
    await h.advance(1 * MINUTE, [s]);
    [listed] = await s.scheduler.orphans.list();
    assert.equal(listed?.status, 'removed');
    assert.match(listed?.reason ?? '', /^removed by the agent at \d\d:\d\d UTC/);

    // The next hello no longer lists it; nothing is re-reported.
    await s.scheduler.onInventory(h.agentId, [
      { sessionId: tracked, status: 'running', details: {} },
    ]);
    [listed] = await s.scheduler.orphans.list();
    assert.equal(listed?.status, 'removed');
    await s.scheduler.stop();
  });

  test('a session the database knows as stopped is an orphan unless its stop is still on its way', async () => {
    const id = await h.runningSession();
    await h.sessions.stop(h.principal, id, { deleteHome: false, markDeleted: false });
    const s = h.newScheduler();
    await s.scheduler.onInventory(h.agentId, [{ sessionId: id, status: 'running', details: {} }]);
    assert.equal(
      (await s.scheduler.orphans.list()).some((o) => o.sessionId === id),
      false,
      'stopping: not an orphan',
    );
    const stop = (await h.commandsFor(id)).find((c) => c.type === 'stop_session');
    await h.completeCommand(stop!);
    assert.equal((await h.stateOf(id)).state, 'stopped');
    await s.scheduler.onInventory(h.agentId, [{ sessionId: id, status: 'running', details: {} }]);
    const orphan = (await s.scheduler.orphans.list()).find((o) => o.sessionId === id);
    assert.equal(orphan?.knownAs, 'stopped');
    assert.match(orphan?.reason ?? '', /the database says it was stopped/);
  });

  test('policy leave keeps it running and says so; policy adopt gives it a session record', async () => {
    const leaveId = randomUUID();
    const adoptId = randomUUID();
    const leave = createOrphanReconciler({
      db: h.db,
      clock: h.clock,
      logger: pino({ level: 'silent' }),
      commands: h.commands,
      changed: () => {},
      policy: 'leave',
      graceMs: 0,
    });
    await leave.observe(h.agentId, [{ sessionId: leaveId, status: 'running', details: {} }], {
      complete: false,
    });
    const leaveReport = await leave.run();
    assert.ok(leaveReport.left.includes(leaveId));
    assert.equal((await h.commandsFor(leaveId)).length, 0);
    assert.match(
      (await leave.list()).find((o) => o.sessionId === leaveId)?.reason ?? '',
      /^left as it is \(STREAMSPACE_ORPHAN_POLICY=leave\)/,
    );

    const adopt = createOrphanReconciler({
      db: h.db,
      clock: h.clock,
      logger: pino({ level: 'silent' }),
      commands: h.commands,
      changed: () => {},
      policy: 'adopt',
      graceMs: 0,
    });
    await adopt.observe(
      h.agentId,
      [
        {
          sessionId: adoptId,
          status: 'running',
          details: { userId: h.principal.userId, templateId: 'desktop', containerId: 'c1' },
        },
      ],
      { complete: false },
    );
    assert.ok((await adopt.run()).adopted.includes(adoptId));
    const session = await h.sessions.get(h.principal, adoptId);
    assert.equal(session.state, 'running');
    assert.equal(session.agentId, h.agentId);
    assert.match(session.stateReason, /^adopted: found running on agent docker-1 at \d\d:\d\d UTC/);
    const [event] = await h.eventsOf(adoptId);
    assert.equal(event?.actor, 'scheduler');
    // Adopted sessions are ordinary sessions: the scheduler's idle policy applies to them.
  });

  test('an orphan may also show up in a session report; a later hello without it marks it gone', async () => {
    const s = h.newScheduler();
    const stray = randomUUID();
    await s.scheduler.onSessionReport(h.agentId, {
      sessionId: stray,
      status: 'failed',
      reason: 'exited',
      details: {},
    });
    let orphan = (await s.scheduler.orphans.list()).find((o) => o.sessionId === stray);
    assert.equal(orphan?.status, 'reported');
    assert.equal(orphan?.observedStatus, 'failed');
    await s.scheduler.onInventory(h.agentId, []);
    orphan = (await s.scheduler.orphans.list()).find((o) => o.sessionId === stray);
    assert.equal(orphan?.status, 'gone');
    assert.equal(orphan?.reason, 'no longer reported by the agent');
  });

  test('a command may name a session or a recorded orphan, nothing else', async () => {
    const nobody = randomUUID();
    await assert.rejects(
      h.commands.enqueue({
        agentId: h.agentId,
        sessionId: nobody,
        payload: { type: 'hibernate_session', sessionId: nobody },
      }),
      /neither a session nor a recorded orphan/,
    );
  });
});
