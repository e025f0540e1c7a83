import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, FakeClock, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  registerAgent,
  startControlPlane,
  startFakeAgent,
  type ControlPlane,
} from './agent-test-harness';
import { api, createUser } from './test-app';

const MINUTE = 60_000;

/**
 * Two real control planes (createApp: hub, queue, sessions, scheduler) on one database and
 * one FakeClock, with a real agent runtime on one of them: idle sessions are warned and
 * hibernated exactly once, the agent hibernates each once, and the timeline at
 * GET /api/v1/sessions/:id/events says who and why.
 */
describe('idle hibernation through two control planes on one database', () => {
  const clock = new FakeClock(Date.now());
  let database: TestDatabase;
  let a: ControlPlane;
  let b: ControlPlane;
  let agent: ReturnType<typeof startFakeAgent>;
  let agentId: string;
  let alice: { id: string; token: string };

  before(async () => {
    database = await createTestDatabase();
    // Heartbeats are real-time; a long timeout keeps fake minutes from marking the agent offline.
    const env = {
      STREAMSPACE_HEARTBEAT_TIMEOUT_MS: String(24 * 60 * MINUTE),
      STREAMSPACE_COMMAND_DEADLINE_MS: String(24 * 60 * MINUTE),
      STREAMSPACE_SCHEDULER_INTERVAL_SECONDS: '60',
      STREAMSPACE_DEFAULT_IDLE_MINUTES: '30',
      STREAMSPACE_IDLE_WARNING_MINUTES: '5',
    };
    // The queue sweeps on the fake clock too: once a fake minute, not 600 times per minute.
    const agentLink = { commandSweepIntervalMs: MINUTE };
    a = await startControlPlane(database, { clock, env, agentLink });
    b = await startControlPlane(database, { clock, env, agentLink });
    const identity = await registerAgent(a, { platform: 'local', name: 'local-1' });
    agentId = identity.agentId;
    agent = startFakeAgent(a.url, identity);
    alice = await createUser(a.url, a.adminToken, 'alice');
    // A launch needs the agent online: do not race its first connection.
    await waitFor('the agent to be connected', () => agent.runtime.isConnected());
  });
  after(async () => {
    await agent.runtime.stop();
    await a.app.stop();
    await b.app.stop();
    await database.drop();
  });

  test('each idle session is warned once, hibernated once, and says why', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await api(a.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        body: { templateId: 'terminal' },
      });
      assert.equal(created.status, 201);
      ids.push(created.body.id);
    }
    const state = async (id: string) =>
      (await api(b.url, 'GET', `/api/v1/sessions/${id}`, { token: alice.token })).body;
    await waitFor('sessions running', async () =>
      (await Promise.all(ids.map(state))).every((s) => s.state === 'running'),
    );
    const events = async (id: string) =>
      (await api(b.url, 'GET', `/api/v1/sessions/${id}/events`, { token: alice.token })).body
        .items as any[];

    // 26 minutes of nobody: every session gets its warning. A jump of fake time can make the
    // hub drop the agent's link for a moment (its pings run on the same clock); sessions of an
    // offline agent are skipped, so step on by 10 s until the warnings are in.
    const start = clock.now();
    clock.advance(26 * MINUTE);
    await waitFor(
      'warnings',
      async () => {
        const all = await Promise.all(ids.map(events));
        if (all.every((list) => list.some((e) => e.kind === 'warning'))) return true;
        if (clock.now() - start < 29 * MINUTE) clock.advance(10_000);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Then minute by minute until every session is hibernated by the agent.
    await waitFor(
      'idle hibernation',
      async () => {
        clock.advance(MINUTE);
        return (await Promise.all(ids.map(state))).every((s) => s.state === 'hibernated');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    for (const id of ids) {
      const timeline = await events(id);
      assert.equal(timeline.filter((e) => e.kind === 'warning').length, 1, 'warned once');
      const moves = timeline.filter((e) => e.toState === 'hibernating');
      assert.equal(moves.length, 1, 'hibernated once');
      assert.equal(moves[0].actor, 'scheduler');
      assert.match(
        moves[0].reason,
        /^idle for 3\d min \(no input since it started at \d\d:\d\d UTC, no viewer ever connected\)$/,
      );
      assert.equal(agent.driver.count('hibernate', id), 1, 'the agent hibernated it once');
      const session = await state(id);
      assert.match(session.stateReason, /^hibernated \(idle for 3\d min .*\); compute released/);
    }
    const commands = await api(a.url, 'GET', `/api/v1/agents/${agentId}/commands`, {
      token: a.adminToken,
    });
    assert.equal(commands.status, 200);
    const hibernates = (commands.body.items as any[]).filter((c) => c.type === 'hibernate_session');
    assert.equal(hibernates.length, 3, 'one hibernate command per session across both replicas');

    // Operators see which replica leads and what it decided.
    const scrape = async ({ url, adminToken }: { url: string; adminToken: string }) =>
      (
        await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })
      ).text();
    const [metricsA, metricsB] = await Promise.all([scrape(a), scrape(b)]);
    const leaders = [metricsA, metricsB].filter((text) =>
      /^streamspace_scheduler_leader 1$/m.test(text),
    );
    assert.equal(leaders.length, 1, 'exactly one replica reports itself the leader');
    assert.match(
      leaders[0]!,
      /^streamspace_lifecycle_decisions_total\{decision="hibernated"\} 3$/m,
    );
    assert.match(
      leaders[0]!,
      /^streamspace_lifecycle_decisions_total\{decision="idleWarned"\} 3$/m,
    );
  });
});
