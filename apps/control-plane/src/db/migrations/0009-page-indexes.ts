import { sql, type Kysely } from 'kysely';

/*
 * Keyset pagination of the session lists (docs/api.md "Pagination"): a page is the next
 * `limit` sessions that are not deleted in (created_at DESC, id DESC) order after the
 * cursor's (created_at, id). Each list walks an index in exactly that order, so a page costs
 * the same at the 50th page as at the first, and never sorts:
 *
 * - sessions_page: every user's sessions (scope=all). It replaces 0008's sessions_listed,
 *   which had no id and so could not break ties between sessions created in one microsecond.
 * - sessions_user_page: one user's own sessions (GET /sessions).
 * - sessions_agent_page: the sessions placed on one agent (GET /agents/:id/sessions).
 *
 * Agents are paged by name, whose UNIQUE index (0001) already has that order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX sessions_page ON sessions (created_at DESC, id DESC) WHERE deleted_at IS NULL;
    CREATE INDEX sessions_user_page ON sessions (user_id, created_at DESC, id DESC)
      WHERE deleted_at IS NULL;
    CREATE INDEX sessions_agent_page ON sessions (agent_id, created_at DESC, id DESC)
      WHERE deleted_at IS NULL;
    DROP INDEX sessions_listed;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX sessions_listed ON sessions (created_at DESC) WHERE deleted_at IS NULL;
    DROP INDEX sessions_agent_page, sessions_user_page, sessions_page;
  `.execute(db);
}
