import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  insertSession,
  registerAgent,
  startControlPlane,
  startFakeAgent,
  startPayload,
  type ControlPlane,
} from './agent-test-harness';

describe('agent selection', () => {
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

  it('two agents of the same platform share the load; offline, draining and full ones are skipped', async () => {
    const { app } = cp;
    const a = await registerAgent(cp, { name: 'docker-a' });
    const b = await registerAgent(cp, { name: 'docker-b' });
    const drained = await registerAgent(cp, { name: 'docker-drained' });
    await registerAgent(cp, { name: 'docker-offline' });
    const agents = [a, b, drained].map((identity) => startFakeAgent(cp.url, identity));
    try {
      await waitFor('three agents connected', () =>
        agents.every(({ runtime }) => runtime.isConnected()),
      );
      await app.agents.update(drained.agentId, { draining: true });

      const placed = new Map<string, number>();
      for (let i = 0; i < 6; i++) {
        const agent = await app.agents.selectAgent({ platform: 'docker' });
        const sessionId = await insertSession(app, agent.id, 'pending');
        placed.set(agent.name, (placed.get(agent.name) ?? 0) + 1);
        await app.commands.enqueue({
          agentId: agent.id,
          sessionId,
          payload: startPayload(sessionId),
        });
      }
      assert.deepEqual(Object.fromEntries(placed), { 'docker-a': 3, 'docker-b': 3 });
      await waitFor(
        'every start ran',
        () => agents[0]!.driver.calls.length + agents[1]!.driver.calls.length === 6,
      );
      assert.equal(agents[0]!.driver.calls.length, 3);
      assert.equal(agents[1]!.driver.calls.length, 3);
      assert.equal(agents[2]!.driver.calls.length, 0, 'the draining agent got nothing');

      await assert.rejects(app.agents.selectAgent({ platform: 'kubernetes' }), {
        code: 'no_agent_available',
        message: 'no kubernetes agent is online',
      });
      await assert.rejects(app.agents.selectAgent({ platform: 'docker', region: 'mars' }), {
        code: 'no_agent_available',
        message: 'no docker agent is online in region "mars"',
      });
      await app.agents.update(a.agentId, { capacity: { maxSessions: 3 } });
      await app.agents.update(b.agentId, { capacity: { maxSessions: 3 } });
      await assert.rejects(app.agents.selectAgent({ platform: 'docker' }), {
        code: 'no_agent_available',
        message: 'every online docker agent is at capacity',
      });
      await assert.rejects(app.agents.selectAgent({ platform: 'auto', agentId: drained.agentId }), {
        code: 'no_agent_available',
        message: 'agent "docker-drained" is draining',
      });
    } finally {
      await Promise.all(agents.map(({ runtime }) => runtime.stop()));
    }
  });
});
