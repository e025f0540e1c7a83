import { sql, type Kysely } from 'kysely';

// A user's own maximum session duration, between the template's and the global default.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN max_duration_minutes integer`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users DROP COLUMN max_duration_minutes`.execute(db);
}
