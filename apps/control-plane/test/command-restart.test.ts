import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeDriver } from '@streamspace/agent-runtime/fake-driver';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  insertSession,
  registerAgent,
  startControlPlane,
  startFakeAgent,
  startPayload,
  waitForCommandStates,
} from './agent-test-harness';

describe('command queue: a control-plane restart loses nothing', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database?.drop();
  });

  it('commands queued, sent and acknowledged before a restart all complete once after it', async () => {
    let cp = await startControlPlane(database);
    const port = Number(new URL(cp.url).port);
    const identity = await registerAgent(cp);
    const sessions = await Promise.all(
      [1, 2, 3, 4].map(() => insertSession(cp.app, identity.agentId)),
    );
    const driver = new FakeDriver('docker');
    driver.hold();
    const { runtime } = startFakeAgent(cp.url, identity, { driver });
    try {
      await waitFor('connected', () => runtime.isConnected());
      const before = [];
      for (const sessionId of sessions.slice(0, 2)) {
        before.push(
          await cp.app.commands.enqueue({
            agentId: identity.agentId,
            sessionId,
            payload: startPayload(sessionId),
          }),
        );
      }
      await waitForCommandStates(
        cp.app,
        before.map((c) => c.id),
        'acked',
        'acknowledged before the restart',
      );
      await cp.app.stop();
      await waitFor('the runtime to notice', () => !runtime.isConnected());

      cp = await startControlPlane(database, { port });
      const afterRestart = [];
      for (const sessionId of sessions.slice(2)) {
        afterRestart.push(
          await cp.app.commands.enqueue({
            agentId: identity.agentId,
            sessionId,
            payload: startPayload(sessionId),
          }),
        );
      }
      driver.release();
      const all = [...before, ...afterRestart].map((command) => command.id);
      await waitForCommandStates(
        cp.app,
        all,
        'completed',
        'every command completed after the restart',
      );
      for (const sessionId of sessions) assert.equal(driver.count('start', sessionId), 1);
    } finally {
      await runtime.stop();
      await cp.app.stop();
    }
  });
});
