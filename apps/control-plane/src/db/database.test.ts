import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { createDb } from './database';

describe('the database pool when PostgreSQL drops a connection mid-query', () => {
  let database: TestDatabase;
  let handle: ReturnType<typeof createDb>;

  before(async () => {
    database = await createTestDatabase();
    handle = createDb(database.url, 2);
  });
  after(async () => {
    await handle?.db.destroy();
    await database?.drop();
  });

  it('fails that query, keeps the process alive and serves queries again', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const slow = sql<{ pid: number }>`SELECT pg_backend_pid() AS pid, pg_sleep(30)`.execute(
        handle.db,
      );
      // Settle it at once: its failure can arrive before pg_terminate_backend's own answer,
      // and a rejection nobody handles by then would be reported as the test's failure.
      const slowFailure = slow.then(
        () => undefined,
        (error: unknown) => error,
      );
      // The session that runs the sleep, as PostgreSQL sees it (a restart or an admin's
      // pg_terminate_backend ends it the same way: FATAL 57P01, then the socket closes).
      const pid = await waitFor('the slow query to run', async () => {
        const found = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`,
        );
        return found.rows[0]?.pid;
      });
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const failure = await slowFailure;
      assert.match(String(failure), /terminating connection/, 'the query cut off fails');
      // The dead connection may still be handed out once before its socket's close reaches
      // the pool (that query fails too); after that the pool connects anew.
      const one = await waitFor('a query to succeed again', async () => {
        const next = await sql<{ one: number }>`SELECT 1 AS one`
          .execute(handle.db)
          .catch(() => undefined);
        return next?.rows[0]?.one;
      });
      assert.equal(one, 1, 'the pool serves queries again on a new connection');
      assert.deepEqual(uncaught, [], 'no error escaped as an uncaught exception');
    } finally {
      process.off('uncaughtException', onUncaught);
      await admin.end();
    }
  });
});
