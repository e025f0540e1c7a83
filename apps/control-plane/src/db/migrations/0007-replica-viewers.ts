import { sql, type Kysely } from 'kysely';

/*
 * Viewers per replica (docs/architecture.md, "Several replicas"): each replica keeps one row
 * per session it has viewers of, with how many, so a session shows the viewers of every live
 * replica, not only of the one answering. A replica's rows go with its `replicas` row; rows
 * of a replica whose heartbeat expired are not counted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE replica_viewers (
      replica_id text NOT NULL REFERENCES replicas(id) ON DELETE CASCADE,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      viewers integer NOT NULL CHECK (viewers > 0),
      PRIMARY KEY (replica_id, session_id)
    );
    CREATE INDEX replica_viewers_session ON replica_viewers (session_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE replica_viewers`.execute(db);
}
