// Populating the control plane for bench/control-plane-scale.ts: agents through the real
// registration API, users and sessions (with their history) in bulk SQL.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { ApiCall, ScaleAgent } from './scale-support';

/** Registrations in flight at once, as many agents enrolling after an installation would. */
const REGISTER_IN_FLIGHT = 16;
/** The API's ceiling on one enrollment token's uses. */
const TOKEN_MAX_USES = 1000;
const SEED_CHUNK = 5_000;

/**
 * Register `count` agents with enrollment tokens (POST /api/v1/agents/register, each a
 * transaction spending one token use). Returns them and the registrations per second.
 */
export async function registerAgents(
  api: ApiCall,
  count: number,
): Promise<{ agents: ScaleAgent[]; perSecond: number }> {
  const tokens: string[] = [];
  for (let made = 0; made < count; made += TOKEN_MAX_USES) {
    const body = { maxUses: Math.min(TOKEN_MAX_USES, count - made), expiresInMinutes: 60 };
    tokens.push((await api('POST', '/api/v1/agents/enrollment-tokens', body)).token);
  }
  const agents: ScaleAgent[] = new Array(count);
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const index = next++;
      const registered = await api(
        'POST',
        '/api/v1/agents/register',
        {
          name: `scale-agent-${String(index).padStart(5, '0')}`,
          platform: 'local',
          region: 'bench',
          capacity: { maxSessions: 1000 },
          agentVersion: 'bench-scale',
        },
        tokens[Math.floor(index / TOKEN_MAX_USES)],
      );
      agents[index] = { id: registered.agent.id, secret: registered.agentSecret, running: [] };
    }
  };
  await Promise.all(Array.from({ length: REGISTER_IN_FLIGHT }, lane));
  return { agents, perSecond: count / ((performance.now() - started) / 1000) };
}

export interface SeedResult {
  users: number;
  sessions: number;
  byState: Record<string, number>;
  /** One session id of the admin's, for GET /sessions/:id. */
  sampleSessionId: string;
  ms: number;
}

/**
 * Seed `count` sessions spread over `userCount` users (plus the admin) and the agents, each
 * with its creation event and a completed start command, in chunks of INSERT … SELECT FROM
 * unnest(). States: 20 % running (reported back in each agent's hello inventory, so the
 * hello reconciliation keeps them), 10 % hibernated, 10 % failed, 60 % stopped (a third of
 * those deleted). Live sessions are recent and active, so the lifecycle scheduler leaves them.
 */
export async function seedSessions(
  databaseUrl: string,
  agents: ScaleAgent[],
  { count, userCount }: { count: number; userCount: number },
): Promise<SeedResult> {
  const started = performance.now();
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO users (username, password_hash, role)
       SELECT 'scale-user-' || g, 'not-a-password-hash', 'user' FROM generate_series(1, $1) g`,
      [userCount],
    );
    const userIds = (
      await db.query<{ id: string }>(`SELECT id FROM users ORDER BY username`)
    ).rows.map((row) => row.id);
    const admin = (await db.query<{ id: string }>(`SELECT id FROM users WHERE username = 'admin'`))
      .rows[0]!.id;
    const template = (
      await db.query<{ id: string }>(`SELECT id FROM templates ORDER BY id LIMIT 1`)
    ).rows[0]!.id;
    const byState: Record<string, number> = {};
    let sampleSessionId = '';
    const now = Date.now();
    for (let offset = 0; offset < count; offset += SEED_CHUNK) {
      const rows = {
        id: [] as string[],
        user: [] as string[],
        agent: [] as string[],
        state: [] as string[],
        created: [] as string[],
        deleted: [] as (string | null)[],
      };
      for (let i = offset; i < Math.min(count, offset + SEED_CHUNK); i++) {
        const id = randomUUID();
        const roll = (i * 7919) % 100; // deterministic spread, no RNG needed
        const state =
          roll < 20 ? 'running' : roll < 30 ? 'hibernated' : roll < 40 ? 'failed' : 'stopped';
        const agent = agents[i % agents.length] as ScaleAgent;
        if (state === 'running') agent.running.push(id);
        const live = state === 'running' || state === 'hibernated';
        // Live sessions started within the last hour; finished ones over the last 30 days.
        const age = live ? (i % 3600) * 1000 : (i % (30 * 24 * 3600)) * 1000;
        const userId = i % 50 === 0 ? admin : (userIds[i % userIds.length] as string);
        if (userId === admin && sampleSessionId === '') sampleSessionId = id;
        rows.id.push(id);
        rows.user.push(userId);
        rows.agent.push(agent.id);
        rows.state.push(state);
        rows.created.push(new Date(now - age).toISOString());
        rows.deleted.push(state === 'stopped' && i % 3 === 0 ? new Date(now).toISOString() : null);
        byState[state] = (byState[state] ?? 0) + 1;
      }
      await db.query(
        `INSERT INTO sessions (id, user_id, template_id, platform, agent_id, state, state_reason,
           home_key, vnc_password, created_at, updated_at, last_activity_at, deleted_at)
         SELECT id, user_id, $7, 'local', agent_id, state, 'seeded by the scale benchmark',
           'scale-' || left(user_id::text, 8), 'benchpw1', created_at, created_at,
           CASE WHEN state = 'running' THEN now() ELSE created_at END, deleted_at
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[])
           AS s(id, user_id, agent_id, state, created_at, deleted_at)`,
        [rows.id, rows.user, rows.agent, rows.state, rows.created, rows.deleted, template],
      );
      await db.query(
        `INSERT INTO session_events (session_id, at, kind, from_state, to_state, actor, reason)
         SELECT id, created_at, 'transition', NULL, 'pending', 'system', 'seeded'
         FROM unnest($1::uuid[], $2::timestamptz[]) AS s(id, created_at)`,
        [rows.id, rows.created],
      );
      await db.query(
        `INSERT INTO agent_commands (agent_id, session_id, type, payload, state, attempts,
           next_attempt_at, deadline, sent_at, acked_at, finished_at, outcome, created_at, updated_at)
         SELECT agent_id, id, 'start_session', '{"type":"start_session"}', 'completed', 1,
           created_at, created_at + interval '10 minutes', created_at, created_at, created_at,
           '{"ok":true}', created_at, created_at
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS s(id, agent_id, created_at)`,
        [rows.id, rows.agent, rows.created],
      );
    }
    await db.query('ANALYZE');
    return {
      users: userCount + 1,
      sessions: count,
      byState,
      sampleSessionId,
      ms: performance.now() - started,
    };
  } finally {
    await db.end();
  }
}
