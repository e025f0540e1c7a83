import { sql, type Kysely } from 'kysely';

// Raw SQL: migrations are frozen history and must not change when the TypeScript schema does.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin', 'user')),
      disabled boolean NOT NULL DEFAULT false,
      idle_timeout_minutes integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('login', 'personal')),
      name text NOT NULL,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      expires_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX api_tokens_user ON api_tokens (user_id, kind);

    CREATE TABLE templates (
      id text PRIMARY KEY,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      icon text NOT NULL DEFAULT '',
      image text NOT NULL,
      app jsonb NOT NULL DEFAULT '[]',
      window_manager text NOT NULL,
      resources jsonb NOT NULL,
      idle_timeout_minutes integer,
      max_duration_minutes integer,
      home_isolation text NOT NULL CHECK (home_isolation IN ('user', 'template')),
      enabled boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE agents (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      platform text NOT NULL CHECK (platform IN ('kubernetes', 'docker', 'local')),
      region text NOT NULL DEFAULT '',
      labels jsonb NOT NULL DEFAULT '{}',
      capacity jsonb NOT NULL,
      cluster_info jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL CHECK (status IN ('online', 'offline')),
      draining boolean NOT NULL DEFAULT false,
      secret_hash text NOT NULL,
      agent_version text,
      last_heartbeat_at timestamptz,
      connected_replica text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE enrollment_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token_hash text NOT NULL UNIQUE,
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      expires_at timestamptz NOT NULL,
      max_uses integer NOT NULL,
      uses integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id),
      template_id text NOT NULL REFERENCES templates(id),
      platform text NOT NULL,
      agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
      state text NOT NULL,
      state_reason text NOT NULL DEFAULT '',
      home_key text NOT NULL,
      vnc_password text NOT NULL,
      details jsonb NOT NULL DEFAULT '{}',
      idle_timeout_minutes integer,
      max_duration_minutes integer,
      last_activity_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sessions_user ON sessions (user_id, created_at DESC);
    CREATE INDEX sessions_agent ON sessions (agent_id) WHERE state <> 'stopped';
    CREATE INDEX sessions_state ON sessions (state);

    CREATE TABLE session_events (
      id bigserial PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      at timestamptz NOT NULL DEFAULT now(),
      kind text NOT NULL,
      from_state text,
      to_state text,
      actor text NOT NULL,
      reason text NOT NULL
    );
    CREATE INDEX session_events_session ON session_events (session_id, id);

    CREATE TABLE agent_commands (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      type text NOT NULL,
      payload jsonb NOT NULL,
      state text NOT NULL CHECK (state IN ('pending', 'sent', 'acked', 'completed', 'failed', 'expired')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      deadline timestamptz NOT NULL,
      sent_at timestamptz,
      acked_at timestamptz,
      finished_at timestamptz,
      outcome jsonb,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX agent_commands_dispatch ON agent_commands (agent_id, next_attempt_at)
      WHERE state IN ('pending', 'sent');
    CREATE INDEX agent_commands_session ON agent_commands (session_id, created_at);

    CREATE TABLE vnc_tickets (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      ticket_hash text NOT NULL UNIQUE,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      expires_at timestamptz NOT NULL
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE leases, vnc_tickets, agent_commands, session_events, sessions,
      enrollment_tokens, agents, templates, api_tokens, users;
  `.execute(db);
}
