import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '@streamspace/test-kit';
import { systemClock, type Platform, type SessionState } from '@streamspace/protocol';
import { createCommandQueue, type CommandQueueDeps } from '../src/commands/command-queue';
import { createDb, type Db } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrations';
import { createMetrics } from '../src/metrics/metrics';
import { silentLogger } from './agent-test-harness';

/** The user `seedUserAndTemplate` makes. */
export const SEEDED_USER_ID = '00000000-0000-4000-8000-000000000001';

/** A fresh test database with every migration applied, and a pool on it. */
export async function createMigratedDatabase(): Promise<{
  database: TestDatabase;
  handle: ReturnType<typeof createDb>;
}> {
  const database = await createTestDatabase();
  const handle = createDb(database.url);
  await migrateToLatest(handle.db);
  return { database, handle };
}

/** The rows sessions need besides an agent: user SEEDED_USER_ID and template `terminal`. */
export async function seedUserAndTemplate(handle: ReturnType<typeof createDb>): Promise<void> {
  await sql`INSERT INTO users (id, username, password_hash, role)
    VALUES (${SEEDED_USER_ID}, 'someone', 'x', 'user')`.execute(handle.db);
  await sql`INSERT INTO templates (id, name, image, window_manager, resources, home_isolation)
    VALUES ('terminal', 'Terminal', 'img', 'twm', '{}', 'user')`.execute(handle.db);
}

/** A session of SEEDED_USER_ID's `terminal` on `agent` in `state` (no command, no event). */
export async function insertSeededSession(
  db: Db,
  agent: { id: string; platform: Platform },
  state: SessionState,
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      userId: SEEDED_USER_ID,
      templateId: 'terminal',
      platform: agent.platform,
      agentId: agent.id,
      state,
      stateReason: 'seeded',
      homeKey: 'h',
      vncPassword: 'p',
      details: '{}',
      idleTimeoutMinutes: null,
      maxDurationMinutes: null,
    })
    .execute();
}

/**
 * The command queue on `db` with a hub the test describes (by default: no agent connected,
 * nothing delivered, no listeners) and quiet logs, metrics and the system clock.
 */
export function createTestCommandQueue(
  db: Db,
  databaseUrl: string,
  hub: Partial<CommandQueueDeps['hub']> = {},
) {
  return createCommandQueue({
    db,
    databaseUrl,
    hub: {
      send: () => false,
      isConnected: () => false,
      connectedAgentIds: () => [],
      onAgentHello: () => () => {},
      onCommandAck: () => () => {},
      onCommandResult: () => () => {},
      ...hub,
    },
    clock: systemClock,
    logger: silentLogger,
    metrics: createMetrics(),
    defaultDeadlineMs: 60_000,
  });
}
