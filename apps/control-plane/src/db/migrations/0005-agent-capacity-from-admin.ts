import { sql, type Kysely } from 'kysely';

// An admin's PUT capacity outlives the agent's reconnects (hello reports the agent's own).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agents ADD COLUMN capacity_from_admin boolean NOT NULL DEFAULT false`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agents DROP COLUMN capacity_from_admin`.execute(db);
}
