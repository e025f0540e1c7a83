import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Labels, Platform, SessionState } from '@streamspace/protocol';
import type { TestDatabase } from '@streamspace/test-kit';
import {
  LOAD_SESSION_STATES,
  platformAvailability,
  selectAgent,
  type AgentCriteria,
} from '../src/agents/agent-selector';
import { createDb } from '../src/db/database';
import {
  createMigratedDatabase,
  insertSeededSession,
  seedUserAndTemplate,
} from './migrated-database';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const TIMEOUT_MS = 30_000;
const PLATFORMS: Platform[] = ['local', 'docker', 'kubernetes'];
const STATES: SessionState[] = ['pending', 'running', 'hibernated', 'stopped', 'failed', 'waking'];

interface SeededAgent {
  id: string;
  name: string;
  platform: Platform;
  region: string;
  labels: Labels;
  maxSessions: number;
  online: boolean;
  draining: boolean;
  load: number;
}

/** A small deterministic PRNG (mulberry32): the same fleet every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The rule selectAgent documents, written out independently. */
function expected(fleet: SeededAgent[], criteria: AgentCriteria): string | undefined {
  const free = fleet.filter(
    (agent) =>
      agent.online &&
      !agent.draining &&
      (criteria.platform === 'auto' || agent.platform === criteria.platform) &&
      (criteria.region === undefined || agent.region === criteria.region) &&
      Object.entries(criteria.labels ?? {}).every(([key, value]) => agent.labels[key] === value) &&
      agent.load < agent.maxSessions,
  );
  free.sort(
    (a, b) =>
      a.load / a.maxSessions - b.load / b.maxSessions || a.load - b.load || (a.id < b.id ? -1 : 1),
  );
  return free[0]?.id;
}

// Placement is chosen inside PostgreSQL (only the winner is read); it must pick exactly the
// agent the rule picks, over a fleet with every kind of candidate, tie and exclusion.
describe('agent selection rule over a varied fleet', () => {
  let database: TestDatabase;
  let handle: ReturnType<typeof createDb>;
  const fleet: SeededAgent[] = [];

  before(async () => {
    ({ database, handle } = await createMigratedDatabase());
    await seedUserAndTemplate(handle);
    const random = prng(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    for (let i = 0; i < 300; i++) {
      // Few distinct capacities and loads: many ties in ratio and in load.
      const maxSessions = pick([0, 2, 4, 4, 8]);
      const liveness = pick(['online', 'online', 'online', 'stale', 'never', 'unclaimed']);
      const labels: Labels = {};
      if (random() < 0.5) labels.gpu = pick(['yes', 'no']);
      if (random() < 0.5) labels.tier = pick(['a', 'b']);
      const agent: SeededAgent = {
        id: randomUUID(),
        name: `agent-${i}`,
        platform: pick(PLATFORMS),
        region: pick(['', 'eu', 'us']),
        labels,
        maxSessions,
        online: liveness === 'online',
        draining: random() < 0.1,
        load: 0,
      };
      await handle.db
        .insertInto('agents')
        .values({
          id: agent.id,
          name: agent.name,
          platform: agent.platform,
          region: agent.region,
          labels: JSON.stringify(labels),
          capacity: JSON.stringify({ maxSessions }),
          clusterInfo: '{}',
          status: liveness === 'never' ? 'offline' : 'online',
          draining: agent.draining,
          secretHash: 'x',
          agentVersion: null,
          connectedReplica: liveness === 'unclaimed' ? null : 'replica-1',
          lastHeartbeatAt: new Date(liveness === 'stale' ? NOW - TIMEOUT_MS - 1 : NOW - 1_000),
        })
        .execute();
      const sessions = Math.floor(random() * 6);
      for (let s = 0; s < sessions; s++) {
        const state = pick(STATES);
        if (LOAD_SESSION_STATES.includes(state)) agent.load += 1;
        await insertSeededSession(handle.db, agent, state);
      }
      fleet.push(agent);
    }
  });
  after(async () => {
    await handle?.db.destroy();
    await database?.drop();
  });

  it('picks what the rule picks for every platform, region and label filter', async () => {
    const deps = { now: () => NOW, heartbeatTimeoutMs: TIMEOUT_MS };
    let chosen = 0;
    for (const platform of ['auto', ...PLATFORMS] as const) {
      for (const region of [undefined, '', 'eu']) {
        const labelFilters: (Record<string, string> | undefined)[] = [
          undefined,
          {},
          { gpu: 'yes' },
          { gpu: 'no', tier: 'b' },
        ];
        for (const labels of labelFilters) {
          const criteria: AgentCriteria = {
            platform,
            ...(region === undefined ? {} : { region }),
            ...(labels === undefined ? {} : { labels }),
          };
          const want = expected(fleet, criteria);
          const what = JSON.stringify(criteria);
          if (want === undefined) {
            await assert.rejects(selectAgent(handle.db, deps, criteria), {
              code: 'no_agent_available',
            });
            continue;
          }
          const got = await selectAgent(handle.db, deps, criteria);
          const agent = fleet.find((a) => a.id === want)!;
          assert.equal(got.id, want, `${what}: ${got.name} instead of ${agent.name}`);
          assert.equal(got.load, agent.load, `${what}: load`);
          assert.equal(got.maxSessions, agent.maxSessions, `${what}: maxSessions`);
          assert.equal(got.platform, agent.platform);
          chosen += 1;
        }
      }
    }
    assert.ok(chosen >= 20, `the fleet offers a winner for most criteria (${chosen})`);
  });
  it('counts online agents and free slots per platform as the catalog shows them', async () => {
    const deps = { now: () => NOW, heartbeatTimeoutMs: TIMEOUT_MS };
    const { platforms } = await platformAvailability(handle.db, deps);
    const byName = (a: { platform: string }, b: { platform: string }) =>
      a.platform.localeCompare(b.platform);
    assert.deepEqual(
      [...platforms].sort(byName),
      PLATFORMS.map((platform) => {
        const online = fleet.filter((agent) => agent.online && agent.platform === platform);
        return {
          platform,
          onlineAgents: online.length,
          freeSlots: online
            .filter((agent) => !agent.draining)
            .reduce((sum, agent) => sum + Math.max(0, agent.maxSessions - agent.load), 0),
        };
      }).sort(byName),
    );
  });
});
