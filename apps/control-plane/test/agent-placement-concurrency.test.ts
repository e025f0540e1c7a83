import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { waitFor, type TestDatabase } from '@streamspace/test-kit';
import { selectAgent, type SelectedAgent } from '../src/agents/agent-selector';
import { createDb, type Db } from '../src/db/database';
import {
  createMigratedDatabase,
  insertSeededSession,
  seedUserAndTemplate,
} from './migrated-database';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const deps = { now: () => NOW, heartbeatTimeoutMs: 30_000 };
const docker = { platform: 'docker' } as const;

/** What a launch does in its transaction: choose an agent and take a slot on it. */
async function place(trx: Db, agent: SelectedAgent): Promise<void> {
  await insertSeededSession(trx, agent, 'pending');
}

/** A launch whose transaction stays open until `commit()`, to interleave two of them. */
function openLaunch(db: Db) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let chosen: (agent: SelectedAgent) => void;
  const choice = new Promise<SelectedAgent>((resolve) => (chosen = resolve));
  const done = db.transaction().execute(async (trx) => {
    const agent = await selectAgent(trx, deps, docker);
    await place(trx, agent);
    chosen(agent);
    await released;
    return agent;
  });
  // Settled at once: a failure must reach the test's assertion, never float unhandled.
  const outcome = done.then(
    (agent) => ({ agent }),
    (error: unknown) => ({ error }),
  );
  return { choice, outcome, commit: () => release() };
}

describe('placing sessions on agents from concurrent launches', () => {
  let database: TestDatabase;
  let handle: ReturnType<typeof createDb>;

  async function fleet(capacities: number[]): Promise<string[]> {
    const ids: string[] = [];
    for (const [index, maxSessions] of capacities.entries()) {
      const id = randomUUID();
      ids.push(id);
      await handle.db
        .insertInto('agents')
        .values({
          id,
          name: `docker-${index}`,
          platform: 'docker',
          region: '',
          labels: '{}',
          capacity: JSON.stringify({ maxSessions }),
          clusterInfo: '{}',
          status: 'online',
          draining: false,
          secretHash: 'x',
          agentVersion: null,
          connectedReplica: 'replica-1',
          lastHeartbeatAt: new Date(NOW - 1_000),
        })
        .execute();
    }
    return ids;
  }

  async function loads(): Promise<number[]> {
    const rows = await handle.db
      .selectFrom('agents')
      .leftJoin('sessions', 'sessions.agentId', 'agents.id')
      .select((eb) => ['agents.name', eb.fn.count<string>('sessions.id').as('n')])
      .groupBy('agents.name')
      .orderBy('agents.name')
      .execute();
    return rows.map((row) => Number(row.n));
  }

  before(async () => {
    ({ database, handle } = await createMigratedDatabase());
    await seedUserAndTemplate(handle);
  });
  beforeEach(async () => {
    await handle.db.deleteFrom('sessions').execute();
    await handle.db.deleteFrom('agents').execute();
  });
  after(async () => {
    await handle?.db.destroy();
    await database?.drop();
  });

  it('a launch does not wait for another one placing on a different agent', async () => {
    await fleet([1, 1]);
    const first = openLaunch(handle.db);
    const firstAgent = await first.choice;
    // The first launch holds its agent; the second is placed on the other one meanwhile.
    const second = await handle.db.transaction().execute(async (trx) => {
      const agent = await selectAgent(trx, deps, docker);
      await place(trx, agent);
      return agent;
    });
    assert.notEqual(second.id, firstAgent.id);
    first.commit();
    assert.deepEqual(await first.outcome, { agent: firstAgent });
    assert.deepEqual(await loads(), [1, 1], 'one session on each agent');
  });

  it('two launches never both take the last free slot', async () => {
    await fleet([1]);
    const first = openLaunch(handle.db);
    await first.choice;
    const second = openLaunch(handle.db);
    // The slot looks free to the second launch (the first has not committed): it waits for
    // the agent instead of taking it.
    await waitFor('the second launch to wait for the agent', async () => {
      const waiting = await handle.pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
      );
      return (waiting.rowCount ?? 0) > 0;
    });
    first.commit();
    const outcome = await second.outcome;
    assert.ok('error' in outcome, 'the second launch is refused');
    assert.match(String((outcome.error as Error).message), /at capacity/);
    assert.equal((outcome.error as { code?: string }).code, 'no_agent_available');
    assert.ok('agent' in (await first.outcome));
    assert.deepEqual(await loads(), [1]);
  });

  it('many launches at once fill every slot exactly and refuse the rest', async () => {
    await fleet([3, 3, 3, 3, 3, 2, 2, 2, 1, 1]);
    const capacity = 23;
    const launches = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        handle.db.transaction().execute(async (trx) => {
          const agent = await selectAgent(trx, deps, docker);
          await place(trx, agent);
          return agent.id;
        }),
      ),
    );
    const placed = launches.filter((launch) => launch.status === 'fulfilled');
    const refused = launches.filter((launch) => launch.status === 'rejected');
    assert.equal(placed.length, capacity, 'every slot is taken');
    for (const launch of refused) {
      assert.equal((launch.reason as { code?: string }).code, 'no_agent_available');
    }
    assert.deepEqual(await loads(), [3, 3, 3, 3, 3, 2, 2, 2, 1, 1], 'no agent over capacity');
  });
});
