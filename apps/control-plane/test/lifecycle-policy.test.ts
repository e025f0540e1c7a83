import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { waitFor } from '@streamspace/test-kit';
import { SCHEDULER_LEASE_NAME } from '../src/scheduler/lifecycle-scheduler';
import { recordSessionEvent } from '../src/sessions/session-transitions';
import { createLifecycleHarness, MINUTE, type LifecycleHarness } from './lifecycle-harness';

describe('idle and maximum-duration policy (FakeClock, real PostgreSQL)', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a session with no viewer is warned at 25 min and hibernates at its 30 min idle timeout', async () => {
    const id = await h.runningSession();
    const s = h.newScheduler();
    await h.start([s]);

    await h.advance(24 * MINUTE, [s]);
    assert.equal((await h.stateOf(id)).state, 'running');
    assert.equal((await h.eventsOf(id)).filter((e) => e.kind === 'warning').length, 0);

    await h.advance(1 * MINUTE, [s]);
    const warnings = (await h.eventsOf(id)).filter((e) => e.kind === 'warning');
    assert.equal(warnings.length, 1, 'one warning five minutes before');
    assert.equal(warnings[0]?.actor, 'scheduler');
    assert.match(
      warnings[0]?.reason ?? '',
      /^will hibernate at \d\d:\d\d UTC after 30 min without activity \(no input since it started at \d\d:\d\d UTC, no viewer ever connected\); use the session or press keep-alive/,
    );

    await h.advance(4 * MINUTE, [s]);
    assert.equal((await h.stateOf(id)).state, 'running', 'still running at 29 min');
    assert.equal(
      (await h.eventsOf(id)).filter((e) => e.kind === 'warning').length,
      1,
      'warned once',
    );

    await h.advance(1 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'hibernating');
    assert.match(
      stateReason,
      /^idle for 30 min \(no input since it started at \d\d:\d\d UTC, no viewer ever connected\)$/,
    );
    const hibernates = (await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session');
    assert.equal(hibernates.length, 1, 'one hibernate command for the agent');

    // The agent completes it: the timeline says why the session is hibernated.
    await h.completeCommand(hibernates[0]!);
    const final = await h.stateOf(id);
    assert.equal(final.state, 'hibernated');
    assert.match(
      final.stateReason,
      /^hibernated \(idle for 30 min .*\); compute released, home kept$/,
    );
    const transitions = (await h.eventsOf(id)).filter((e) => e.kind === 'transition');
    const byScheduler = transitions.find((e) => e.toState === 'hibernating');
    assert.equal(byScheduler?.actor, 'scheduler');
    assert.equal(byScheduler?.fromState, 'running');
    await s.scheduler.stop();
  });

  test('a session whose viewer keeps sending input does not hibernate; when input stops, it does and says so', async () => {
    const id = await h.runningSession();
    const s = h.newScheduler();
    await h.start([s]);
    await recordSessionEvent(h.db, {
      sessionId: id,
      kind: 'viewer_connected',
      actor: 'user:alice',
      reason: 'viewer connected',
    });

    // Two hours of a viewer typing every 4 minutes (what the VNC proxy's onViewerInput stamps).
    for (let minute = 0; minute < 120; minute += 4) {
      await h.sessions.touch(id);
      await h.advance(4 * MINUTE, [s]);
    }
    assert.equal((await h.stateOf(id)).state, 'running');
    assert.equal((await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session').length, 0);
    assert.equal(
      (await h.eventsOf(id)).filter((e) => e.kind === 'warning').length,
      0,
      'no warning while in use',
    );

    // The viewer stays connected but stops typing.
    await h.sessions.touch(id);
    await h.advance(30 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'hibernating');
    assert.match(
      stateReason,
      /^idle for 30 min \(last input \d\d:\d\d UTC, 1 viewer connected without input\)$/,
    );
    await s.scheduler.stop();
  });

  test('keep-alive resets the countdown and a new idle period gets a new warning', async () => {
    const id = await h.runningSession({ idleTimeoutMinutes: 10 });
    const s = h.newScheduler();
    await h.start([s]);
    await recordSessionEvent(h.db, {
      sessionId: id,
      kind: 'viewer_connected',
      actor: 'user:alice',
      reason: 'viewer connected',
    });
    await recordSessionEvent(h.db, {
      sessionId: id,
      kind: 'viewer_disconnected',
      actor: 'user:alice',
      reason: 'viewer left',
    });
    await h.advance(6 * MINUTE, [s]);
    assert.equal((await h.eventsOf(id)).filter((e) => e.kind === 'warning').length, 1);
    const [view] = await h.sessions
      .list(h.principal, { scope: 'own', limit: 100 })
      .then((page) => page.items.filter((x) => x.id === id));
    assert.ok(view?.hibernateAt, 'the UI gets a countdown');
    assert.equal(Date.parse(view.hibernateAt) - Date.parse(view.lastActivityAt), 10 * MINUTE);

    await h.sessions.keepalive(h.principal, id); // the keep-alive button
    await h.advance(9 * MINUTE, [s]);
    assert.equal((await h.stateOf(id)).state, 'running', 'keep-alive pushed hibernation back');
    assert.equal(
      (await h.eventsOf(id)).filter((e) => e.kind === 'warning').length,
      2,
      'warned again for the new period',
    );
    await h.advance(1 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'hibernating');
    assert.match(
      stateReason,
      /^idle for 10 min \(last input \d\d:\d\d UTC, no viewer since \d\d:\d\d UTC\)$/,
    );
    await s.scheduler.stop();
  });

  test('a session past its maximum duration is stopped with a reason, even while in use; its home is kept', async () => {
    const id = await h.runningSession({ maxDurationMinutes: 60 });
    const s = h.newScheduler();
    await h.start([s]);
    for (let minute = 0; minute < 55; minute += 5) {
      await h.sessions.touch(id);
      await h.advance(5 * MINUTE, [s]);
    }
    const warning = (await h.eventsOf(id)).find((e) => e.kind === 'warning');
    assert.match(
      warning?.reason ?? '',
      /^will stop at \d\d:\d\d UTC: maximum session duration of 1 h \(started \d\d:\d\d UTC\); your home is kept$/,
    );
    assert.equal((await h.stateOf(id)).state, 'running');

    await h.sessions.touch(id);
    await h.advance(5 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'stopping');
    assert.match(
      stateReason,
      /^maximum session duration of 1 h reached \(started \d\d:\d\d UTC\); home kept$/,
    );
    const stop = (await h.commandsFor(id)).find((c) => c.type === 'stop_session');
    assert.deepEqual(
      {
        type: stop?.payload.type,
        deleteHome: stop?.payload.type === 'stop_session' && stop.payload.deleteHome,
      },
      { type: 'stop_session', deleteHome: false },
    );
    const event = (await h.eventsOf(id)).find((e) => e.toState === 'stopping');
    assert.equal(event?.actor, 'scheduler');
    await s.scheduler.stop();
  });

  test("without a template limit, the user's own maximum duration applies", async () => {
    await h.db
      .updateTable('users')
      .set({ maxDurationMinutes: 30 })
      .where('id', '=', h.principal.userId)
      .execute();
    try {
      const id = await h.runningSession();
      const s = h.newScheduler();
      await h.start([s]);
      await h.advance(20 * MINUTE, [s]);
      await h.sessions.touch(id);
      assert.equal((await h.stateOf(id)).state, 'running');
      await h.advance(10 * MINUTE, [s]);
      const { state, stateReason } = await h.stateOf(id);
      assert.equal(state, 'stopping');
      assert.match(stateReason, /^maximum session duration of 30 min reached/);
      await s.scheduler.stop();
    } finally {
      await h.db
        .updateTable('users')
        .set({ maxDurationMinutes: null })
        .where('id', '=', h.principal.userId)
        .execute();
    }
  });

  test('a hibernated session past its maximum duration is stopped at once', async () => {
    const id = await h.runningSession({ maxDurationMinutes: 90, idleTimeoutMinutes: 20 });
    const s = h.newScheduler();
    await h.start([s]);
    await h.advance(20 * MINUTE, [s]);
    const hibernate = (await h.commandsFor(id)).find((c) => c.type === 'hibernate_session');
    await h.completeCommand(hibernate!);
    assert.equal((await h.stateOf(id)).state, 'hibernated');
    await h.advance(70 * MINUTE, [s], 5 * MINUTE);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'stopped');
    assert.match(stateReason, /^maximum session duration of 1 h 30 min reached/);
    await s.scheduler.stop();
  });
});

describe('two control-plane schedulers on one database', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('each idle session is warned once and hibernated exactly once', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => h.runningSession()));
    const a = h.newScheduler({}, 'replica-a');
    const b = h.newScheduler({}, 'replica-b');
    await h.start([a, b]);
    await h.advance(31 * MINUTE, [a, b]);

    for (const id of ids) {
      assert.equal((await h.stateOf(id)).state, 'hibernating');
      assert.equal(
        (await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session').length,
        1,
      );
      const events = await h.eventsOf(id);
      assert.equal(events.filter((e) => e.toState === 'hibernating').length, 1);
      assert.equal(events.filter((e) => e.kind === 'warning').length, 1);
    }
    const leaders = [a, b].filter((s) => s.reports.some((r) => r.leader));
    assert.equal(leaders.length, 1, 'only one replica held the lease');
    const hibernatedBy = [a, b].map(
      (s) => s.reports.flatMap((r) => r.policy?.hibernated ?? []).length,
    );
    assert.deepEqual(hibernatedBy.sort(), [0, 5]);
    await a.scheduler.stop();
    await b.scheduler.stop();
  });

  test('when the leader stops, the other replica takes the lease and carries on', async () => {
    const a = h.newScheduler({}, 'replica-c');
    const b = h.newScheduler({}, 'replica-d');
    await h.start([a]);
    await h.start([b]);
    assert.equal(a.reports.at(-1)?.leader, true);
    assert.equal(b.reports.at(-1)?.leader, false);
    await a.scheduler.stop();
    await h.advance(MINUTE, [b]);
    assert.equal(b.reports.at(-1)?.leader, true);
    await b.scheduler.stop();
  });

  test("a crashed leader's lease is taken over once it expires", async () => {
    await h.db.deleteFrom('leases').execute();
    // A holder that died without releasing. Its lease is valid for an hour while the survivor
    // is refused (a lease that ran out 400 ms after the insert could expire before a slow
    // machine asked), then its last renewal runs out 300 ms from now (database time).
    await sql`INSERT INTO leases (name, holder, expires_at)
      VALUES (${SCHEDULER_LEASE_NAME}, 'crashed-replica', now() + interval '1 hour')`.execute(h.db);
    const b = h.newScheduler({}, 'replica-survivor');
    assert.equal((await b.scheduler.runOnce()).leader, false, 'not while the lease is valid');
    await sql`UPDATE leases SET expires_at = now() + interval '300 milliseconds'
      WHERE name = ${SCHEDULER_LEASE_NAME}`.execute(h.db);
    await waitFor(
      'the survivor to take the lease',
      async () => (await b.scheduler.runOnce()).leader,
      {
        timeoutMs: 5_000,
        intervalMs: 100,
      },
    );
    const lease = await h.db.selectFrom('leases').selectAll().executeTakeFirstOrThrow();
    assert.equal(lease.holder, 'replica-survivor');
    await b.scheduler.stop();
    assert.equal(
      (await h.db.selectFrom('leases').selectAll().execute()).length,
      0,
      'a graceful stop hands the lease over at once',
    );
  });

  test('even two passes racing without the lease hibernate each session once', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => h.runningSession()));
    h.clock.advance(31 * MINUTE);
    // Two different lease holders (the lease of one expired mid-pass, say): run both at once.
    const a = h.newScheduler({ leaseTtlMs: 1 }, 'racer-a');
    const b = h.newScheduler({ leaseTtlMs: 1 }, 'racer-b');
    await h.db.deleteFrom('leases').execute();
    const reports = await Promise.all([a.scheduler.runOnce(), b.scheduler.runOnce()]);
    for (const id of ids) {
      assert.equal(
        (await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session').length,
        1,
      );
      assert.equal((await h.eventsOf(id)).filter((e) => e.toState === 'hibernating').length, 1);
    }
    const total = reports
      .flatMap((r) => r.policy?.hibernated ?? [])
      .filter((id) => ids.includes(id));
    assert.equal(total.length, 3);
  });
});

describe('sessions whose agent is offline', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await createLifecycleHarness();
  });
  after(async () => {
    await h.close();
  });

  test('are not hibernated while nobody can reach them, and are once the agent is back', async () => {
    const id = await h.runningSession({ maxDurationMinutes: 600 });
    await h.db.updateTable('agents').set({ status: 'offline' }).execute();
    const s = h.newScheduler();
    await h.start([s]);
    await h.advance(40 * MINUTE, [s], 5 * MINUTE);
    assert.equal((await h.stateOf(id)).state, 'running');
    assert.equal((await h.commandsFor(id)).filter((c) => c.type === 'hibernate_session').length, 0);
    assert.equal((await h.eventsOf(id)).filter((e) => e.kind === 'warning').length, 0);

    await h.db.updateTable('agents').set({ status: 'online' }).execute();
    await h.advance(1 * MINUTE, [s]);
    const { state, stateReason } = await h.stateOf(id);
    assert.equal(state, 'hibernating');
    assert.match(stateReason, /^idle for 41 min/);
    await s.scheduler.stop();
  });
});
