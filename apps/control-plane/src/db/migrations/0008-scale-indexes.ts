import { sql, type Kysely } from 'kysely';

/*
 * Indexes found missing by bench/control-plane-scale.ts (30,000 sessions, 2,000 agents):
 *
 * - sessions_listed: GET /sessions?scope=all (and every list without a user filter) reads the
 *   newest 1,000 sessions that are not deleted. Without it PostgreSQL joined every session to
 *   its user, template and agent and sorted them all (73 ms at 30,000 sessions); with it, it
 *   walks the newest 1,000 (4-11 ms).
 * - agent_commands_open: the command sweep (every second) looks for open commands past their
 *   deadline. Finished commands are kept for 7 days, so that was a scan of the whole table
 *   (11 ms at 30,000 commands, growing with traffic) for the handful still open.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX sessions_listed ON sessions (created_at DESC) WHERE deleted_at IS NULL;
    CREATE INDEX agent_commands_open ON agent_commands (deadline)
      WHERE state IN ('pending', 'sent', 'acked');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX agent_commands_open, sessions_listed`.execute(db);
}
