import { sql, type Kysely } from 'kysely';

// Deleting a session hides it from lists but keeps its row and timeline for audit.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sessions ADD COLUMN deleted_at timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sessions DROP COLUMN deleted_at`.execute(db);
}
