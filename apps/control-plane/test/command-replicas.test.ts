import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  insertSession,
  registerAgent,
  startControlPlane,
  startFakeAgent,
  startPayload,
  waitForCommandStates,
  type ControlPlane,
} from './agent-test-harness';

describe('command queue across two control-plane replicas on one database', () => {
  let database: TestDatabase;
  let holder: ControlPlane;
  let other: ControlPlane;

  before(async () => {
    database = await createTestDatabase();
    const env = { STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000' };
    // A slow sweep: delivery must come from NOTIFY, not from the periodic re-send.
    const agentLink = { commandSweepIntervalMs: 60_000 };
    holder = await startControlPlane(database, { env, agentLink });
    other = await startControlPlane(database, { env, agentLink });
  });
  after(async () => {
    await holder?.app.stop();
    await other?.app.stop();
    await database?.drop();
  });

  it('a command queued on a replica without the socket is sent by the one holding it', async () => {
    const identity = await registerAgent(holder);
    const { runtime, driver } = startFakeAgent(holder.url, identity);
    try {
      await waitFor('connected to the first replica', () =>
        holder.app.hub.isConnected(identity.agentId),
      );
      assert.equal(other.app.hub.isConnected(identity.agentId), false);
      const sessionId = await insertSession(other.app, identity.agentId);
      const command = await other.app.db
        .transaction()
        .execute((trx) =>
          other.app.commands.enqueue(
            { agentId: identity.agentId, sessionId, payload: startPayload(sessionId) },
            trx,
          ),
        );
      await waitForCommandStates(other.app, [command.id], 'completed', 'the command to complete');
      assert.equal(driver.count('start', sessionId), 1);
      const row = await other.app.db
        .selectFrom('agentCommands')
        .select('attempts')
        .where('id', '=', command.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.attempts, 1, 'sent exactly once, by the replica holding the socket');
    } finally {
      await runtime.stop();
    }
  });
});
