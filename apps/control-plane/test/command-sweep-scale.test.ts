import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { ControlPlaneMessage } from '@streamspace/protocol';
import type { TestDatabase } from '@streamspace/test-kit';
import { createDb } from '../src/db/database';
import {
  createMigratedDatabase,
  createTestCommandQueue,
  seedUserAndTemplate,
} from './migrated-database';

const AGENT = '00000000-0000-4000-8000-000000000002';
const SESSION = '00000000-0000-4000-8000-000000000003';

// The sweep asks which connected agents have commands due. It named every connected agent as
// its own bind parameter, and PostgreSQL refuses more than 65,535: past that many agents on one
// process, no command would ever be re-sent (bench/control-plane-scale.ts, "what is left").
describe('command sweep with more connected agents than PostgreSQL has bind parameters', () => {
  let database: TestDatabase;
  let handle: ReturnType<typeof createDb>;

  before(async () => {
    ({ database, handle } = await createMigratedDatabase());
    await seedUserAndTemplate(handle);
    await sql`
      INSERT INTO agents (id, name, platform, capacity, status, secret_hash)
        VALUES ('00000000-0000-4000-8000-000000000002', 'a', 'local', '{"maxSessions":1}',
          'online', 'x');
      INSERT INTO sessions (id, user_id, template_id, platform, agent_id, state, home_key, vnc_password)
        VALUES ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001',
          'terminal', 'local', '00000000-0000-4000-8000-000000000002', 'starting', 'h', 'p');
    `.execute(handle.db);
  });
  after(async () => {
    await handle?.db.destroy();
    await database?.drop();
  });

  it('re-sends the due command of one of 70,000 connected agents', async () => {
    const connected = [...Array.from({ length: 70_000 }, () => randomUUID()), AGENT];
    const sent: { agentId: string; message: ControlPlaneMessage }[] = [];
    const queue = createTestCommandQueue(handle.db, database.url, {
      send: (agentId, message) => (sent.push({ agentId, message }), true),
      isConnected: (agentId) => agentId === AGENT,
      connectedAgentIds: () => connected,
    });
    // Queued in a transaction: pending, left to the sweep.
    const row = await handle.db.transaction().execute((trx) =>
      queue.enqueue(
        {
          agentId: AGENT,
          sessionId: SESSION,
          payload: { type: 'hibernate_session', sessionId: SESSION },
        },
        trx,
      ),
    );
    await queue.sweep();
    assert.deepEqual(
      sent.map(({ agentId, message }) => [
        agentId,
        message.type === 'command' && message.commandId,
      ]),
      [[AGENT, row.id]],
    );
    await queue.stop();
  });
});
