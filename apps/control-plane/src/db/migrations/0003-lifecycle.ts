import { sql, type Kysely } from 'kysely';

/*
 * Lifecycle policy and reconciliation (issue 5, docs/lifecycle.md).
 *
 * - orphan_sessions: sessions an agent reports that the database does not know (or knows as
 *   stopped). Admin-visible at GET /api/v1/orphans; handled per STREAMSPACE_ORPHAN_POLICY.
 * - session_lifecycle_marks: one row per lifecycle decision that must happen once (an idle
 *   warning for one activity period, the single retry of one stuck transition). The primary
 *   key makes "once" hold across scheduler replicas, not just inside the lease.
 * - agent_commands.session_id: removing an orphan needs a stop_session command for a session
 *   id that is not in `sessions`. The foreign key is replaced by a trigger that accepts a
 *   session OR a recorded orphan, so every command still names something the database knows;
 *   the ON DELETE CASCADE it had is kept by a trigger on sessions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE orphan_sessions (
      agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
      session_id uuid NOT NULL,
      status text NOT NULL CHECK (status IN
        ('reported', 'removing', 'removed', 'remove_failed', 'left', 'adopted', 'gone')),
      observed_status text NOT NULL,
      known_as text NOT NULL CHECK (known_as IN ('unknown', 'stopped')),
      details jsonb NOT NULL DEFAULT '{}',
      reason text NOT NULL,
      command_id uuid,
      first_seen_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (agent_id, session_id)
    );
    CREATE INDEX orphan_sessions_session ON orphan_sessions (session_id);
    CREATE INDEX orphan_sessions_open ON orphan_sessions (first_seen_at)
      WHERE status IN ('reported', 'removing');

    CREATE TABLE session_lifecycle_marks (
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      kind text NOT NULL,
      key text NOT NULL,
      at timestamptz NOT NULL,
      PRIMARY KEY (session_id, kind, key)
    );

    ALTER TABLE agent_commands DROP CONSTRAINT agent_commands_session_id_fkey;

    CREATE FUNCTION streamspace_command_session_known() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id)
         AND NOT EXISTS (SELECT 1 FROM orphan_sessions WHERE session_id = NEW.session_id) THEN
        RAISE EXCEPTION 'agent_commands.session_id % is neither a session nor a recorded orphan',
          NEW.session_id USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER agent_commands_session_known
      BEFORE INSERT OR UPDATE OF session_id ON agent_commands
      FOR EACH ROW EXECUTE FUNCTION streamspace_command_session_known();

    CREATE FUNCTION streamspace_session_commands_cascade() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM agent_commands WHERE session_id = OLD.id;
      RETURN OLD;
    END $$;
    CREATE TRIGGER sessions_commands_cascade
      AFTER DELETE ON sessions
      FOR EACH ROW EXECUTE FUNCTION streamspace_session_commands_cascade();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER sessions_commands_cascade ON sessions;
    DROP FUNCTION streamspace_session_commands_cascade();
    DROP TRIGGER agent_commands_session_known ON agent_commands;
    DROP FUNCTION streamspace_command_session_known();
    DELETE FROM agent_commands WHERE session_id NOT IN (SELECT id FROM sessions);
    ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_session_id_fkey
      FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE;
    DROP TABLE session_lifecycle_marks, orphan_sessions;
  `.execute(db);
}
