import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import type { TestDatabase } from '@streamspace/test-kit';
import { createDb } from '../src/db/database';
import {
  createMigratedDatabase,
  createTestCommandQueue,
  seedUserAndTemplate,
} from './migrated-database';
import type { Database } from '../src/db/schema';
import { createSessionViews } from '../src/sessions/session-view';

interface Captured {
  sql: string;
  parameters: readonly unknown[];
}

const SESSIONS = 30_000;

// Migrations 0008 (found by bench/control-plane-scale.ts) and 0009 (pagination): the queries
// the services really issue, captured as they run, are planned on the indexes at the
// benchmark's scale.
describe('scale indexes (migrations 0008, 0009)', () => {
  let database: TestDatabase;
  let handle: ReturnType<typeof createDb>;
  let captured: Captured[] = [];
  let capturing: Kysely<Database>;

  before(async () => {
    ({ database, handle } = await createMigratedDatabase());
    await seedUserAndTemplate(handle);
    capturing = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: handle.pool }),
      plugins: [new CamelCasePlugin()],
      log: (event) => {
        if (event.level === 'query') captured.push(event.query);
      },
    });
    await sql`
      INSERT INTO agents (id, name, platform, capacity, status, secret_hash)
        VALUES ('00000000-0000-4000-8000-000000000002', 'a', 'local', '{"maxSessions":1}',
          'online', 'x');
      INSERT INTO sessions (user_id, template_id, platform, agent_id, state, home_key,
          vnc_password, created_at, deleted_at)
        SELECT '00000000-0000-4000-8000-000000000001', 'terminal', 'local',
          '00000000-0000-4000-8000-000000000002', 'stopped', 'h', 'p',
          now() - g * interval '1 minute', CASE WHEN g % 4 = 0 THEN now() END
        FROM generate_series(1, ${sql.lit(SESSIONS)}) g;
      INSERT INTO agent_commands (agent_id, session_id, type, payload, state, deadline, finished_at)
        SELECT agent_id, id, 'start_session', '{}', 'completed', created_at, created_at
        FROM sessions;
      ANALYZE;
    `.execute(handle.db);
  });
  after(async () => {
    await handle?.db.destroy();
    await database?.drop();
  });

  async function plan(query: Captured): Promise<string> {
    const result = await handle.pool.query(`EXPLAIN ${query.sql}`, [...query.parameters]);
    return result.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  }

  it('every page of the session list walks sessions_page (0009) instead of sorting', async () => {
    const views = createSessionViews({
      db: capturing,
      viewerCount: () => 0,
      defaultIdleMinutes: 30,
      defaultMaxDurationMinutes: 60,
    });
    captured = [];
    const first = await views.page({}, { limit: 500 });
    assert.equal(first.items.length, 500, 'a full page of the sessions that are not deleted');
    assert.ok(first.nextCursor, 'more pages follow');
    const second = await views.page({}, { limit: 500, cursor: first.nextCursor });
    assert.equal(second.items.length, 500);
    assert.ok(
      (second.items[0]?.createdAt ?? '') < (first.items.at(-1)?.createdAt ?? ''),
      'the second page goes on where the first ended',
    );
    const lists = captured.filter((query) => query.sql.includes('from "sessions"'));
    assert.equal(lists.length, 2, 'both list queries ran');
    for (const list of lists) assert.match(await plan(list), /Index Scan using sessions_page/);
  });

  it('the command sweep finds late commands on agent_commands_open', async () => {
    const queue = createTestCommandQueue(capturing, database.url);
    captured = [];
    await queue.sweep();
    const expire = captured.find((query) => /for update skip locked/i.test(query.sql));
    assert.ok(expire, 'the expiry query ran');
    assert.match(await plan(expire), /Index Scan using agent_commands_open/);
    await queue.stop();
  });
});
