import { sql, type Kysely } from 'kysely';

/*
 * Control-plane replicas (BRIEF.md, "Growing past one machine").
 *
 * - replicas: one row per running control-plane process: the internal URL other replicas
 *   reach it on, and until when its heartbeat makes it trustworthy. A replica that stops
 *   heartbeating expires; its ownership of agent links is then no longer believed.
 * - agents.connected_replica (since 0001) names the replica holding the agent's link. It is
 *   not a foreign key: the hub sets it at hello and clears it only while it still names the
 *   same replica, and a replica row may be reaped while an old value is still being cleared.
 *   The index serves "agents of this replica" and the owner lookup of a routed viewer.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE replicas (
      id text PRIMARY KEY,
      url text NOT NULL,
      started_at timestamptz NOT NULL,
      heartbeat_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX agents_connected_replica ON agents (connected_replica)
      WHERE connected_replica IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX agents_connected_replica;
    DROP TABLE replicas;
  `.execute(db);
}
