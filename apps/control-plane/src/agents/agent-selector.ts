import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import {
  PLATFORMS,
  type Labels,
  type Platform,
  type PlatformsResponse,
  type SessionState,
} from '@streamspace/protocol';
import type { Database } from '../db/schema';
import { ApiError } from '../http/api-error';

/**
 * Session states that occupy one of an agent's slots: compute is held or about to be. A
 * hibernated session released its compute, and stopped or failed ones hold nothing.
 */
export const LOAD_SESSION_STATES: readonly SessionState[] = [
  'pending',
  'starting',
  'running',
  'hibernating',
  'waking',
  'stopping',
];

/** LOAD_SESSION_STATES as an SQL list, for `state IN (...)` in the raw queries below. */
const LOAD_STATES_SQL = sql.join(LOAD_SESSION_STATES.map((state) => sql.lit(state)));

/**
 * Online, in SQL (the rule isOnline and the Agent's status apply in the process): the row says
 * so, a replica holds its link, and it was heard from since `freshSince`.
 */
export function onlineAgentSql(freshSince: Date): RawBuilder<SqlBool> {
  return sql<SqlBool>`(agents.status = 'online' AND agents.connected_replica IS NOT NULL
    AND agents.last_heartbeat_at >= ${freshSince})`;
}

export interface AgentCriteria {
  platform: Platform | 'auto';
  /** A specific agent the caller asked for. */
  agentId?: string;
  region?: string;
  /** Every label here must be on the agent with the same value. */
  labels?: Labels;
}

export interface SelectedAgent {
  id: string;
  name: string;
  platform: Platform;
  region: string;
  /** Sessions in LOAD_SESSION_STATES on the agent before this one. */
  load: number;
  maxSessions: number;
}

interface Candidate extends SelectedAgent {
  status: 'online' | 'offline';
  draining: boolean;
  connected: boolean;
  fresh: boolean;
  labels: Labels;
}

export interface SelectorDeps {
  /** Milliseconds since the epoch (the injected Clock). */
  now: () => number;
  /** An agent not heard from for this long counts as offline even if a row says online. */
  heartbeatTimeoutMs: number;
}

/** Agents with their current load; `executor` may be a transaction. */
async function candidates(
  executor: Kysely<Database>,
  deps: SelectorDeps,
  where: { agentId?: string },
): Promise<Candidate[]> {
  let query = executor.selectFrom('agents').select((eb) => [
    'agents.id',
    'agents.name',
    'agents.platform',
    'agents.region',
    'agents.labels',
    'agents.capacity',
    'agents.status',
    'agents.draining',
    'agents.connectedReplica',
    'agents.lastHeartbeatAt',
    eb
      .selectFrom('sessions')
      .select((inner) => inner.fn.countAll<string>().as('n'))
      .whereRef('sessions.agentId', '=', 'agents.id')
      .where('sessions.state', 'in', LOAD_SESSION_STATES)
      .as('load'),
  ]);
  if (where.agentId !== undefined) query = query.where('agents.id', '=', where.agentId);
  const rows = await query.execute();
  const freshAfter = deps.now() - deps.heartbeatTimeoutMs;
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    platform: row.platform,
    region: row.region,
    load: Number(row.load ?? 0),
    maxSessions: row.capacity.maxSessions,
    status: row.status,
    draining: row.draining,
    connected: row.connectedReplica !== null,
    fresh: row.lastHeartbeatAt !== null && row.lastHeartbeatAt.getTime() >= freshAfter,
    labels: row.labels,
  }));
}

function isOnline(candidate: Candidate): boolean {
  return candidate.status === 'online' && candidate.connected && candidate.fresh;
}

function matchesLabels(agentLabels: Labels, wanted: Labels | undefined): boolean {
  if (wanted === undefined) return true;
  return Object.entries(wanted).every(([key, value]) => agentLabels[key] === value);
}

/** Placement attempts before giving up; each failed one means other launches took slots. */
const PLACEMENT_ATTEMPTS = 20;
/** Best-ranked agents a launch tries to hold per attempt before waiting for one. */
const RANKED_PER_ATTEMPT = 8;
/**
 * First key of the transaction-scoped advisory locks that hold an agent for one launch (the
 * second is a hash of the agent's id; a collision only makes two launches queue). Advisory
 * locks rather than row locks: the heartbeat flush updates agent rows all the time, and a row
 * lock made launches queue behind it (measured: half the placement rate).
 */
const PLACEMENT_LOCK_SPACE = 7_245_001;

/**
 * The least-loaded online, non-draining agent with a free slot that matches the criteria
 * (load = sessions in LOAD_SESSION_STATES ÷ maxSessions; ties go to the agent with fewer
 * sessions, then by id). Throws ApiError `no_agent_available` saying what was missing.
 *
 * Inside a transaction the chosen agent stays held until it ends, so launches on different
 * agents run in parallel while two launches can never both take one agent's last slot: an
 * agent another launch holds is passed over for the next best, the load is counted again once
 * held, and when every good agent is held the launch waits for the best of them.
 */
export async function selectAgent(
  executor: Kysely<Database>,
  deps: SelectorDeps,
  criteria: AgentCriteria,
): Promise<SelectedAgent> {
  if (criteria.agentId !== undefined) {
    await holdAgent(executor, criteria.agentId, 'wait');
    return explainOrPick(executor, deps, criteria);
  }
  let holdingAny = false;
  for (let attempt = 1; attempt <= PLACEMENT_ATTEMPTS; attempt += 1) {
    const ranked = await leastLoaded(executor, deps, criteria, RANKED_PER_ATTEMPT);
    // None free: the full list says why (or finds one that freed up meanwhile).
    if (ranked.length === 0) ranked.push(await explainOrPick(executor, deps, criteria));
    for (const agent of ranked) {
      if (!(await holdAgent(executor, agent.id, 'try'))) continue;
      holdingAny = true;
      const load = await currentLoad(executor, agent.id);
      if (load < agent.maxSessions) return { ...agent, load };
      // It filled up since the ranking (a launch that held it committed): the next one.
    }
    // Every ranked agent is held by another launch. Wait for the best, unless this launch
    // already holds one: waiting while holding could deadlock with a launch waiting for it,
    // so back off a little (those launches commit within milliseconds) and rank again.
    if (holdingAny) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 5 * attempt)));
      continue;
    }
    const best = ranked[0] as SelectedAgent;
    await holdAgent(executor, best.id, 'wait');
    holdingAny = true;
    const load = await currentLoad(executor, best.id);
    if (load < best.maxSessions) return { ...best, load };
  }
  throw noAgent('every free agent was taken by other launches at the same moment; try again');
}

/**
 * Hold the agent for this transaction: `try` answers at once whether it could; `wait` queues
 * behind the launch holding it. Outside a transaction the hold ends with the statement.
 */
async function holdAgent(
  executor: Kysely<Database>,
  agentId: string,
  mode: 'try' | 'wait',
): Promise<boolean> {
  const key = sql`${PLACEMENT_LOCK_SPACE}::int, hashtext(${agentId})`;
  if (mode === 'wait') {
    await sql`SELECT pg_advisory_xact_lock(${key})`.execute(executor);
    return true;
  }
  const result = await sql<{ held: boolean }>`
    SELECT pg_try_advisory_xact_lock(${key}) AS held`.execute(executor);
  return result.rows[0]?.held === true;
}

/**
 * Hold the agent as a launch does, then refuse with `no_agent_available` when its sessions in
 * LOAD_SESSION_STATES, counted in this transaction (so including a session it just moved to
 * `waking`), exceed its capacity. Offline and draining agents are not refused: a wake for
 * them waits in the queue like any command.
 */
export async function checkAgentCapacity(
  executor: Kysely<Database>,
  agentId: string,
): Promise<void> {
  await holdAgent(executor, agentId, 'wait');
  const agent = await executor
    .selectFrom('agents')
    .select(['name', 'capacity'])
    .where('id', '=', agentId)
    .executeTakeFirst();
  if (agent === undefined) return; // deleted: its sessions are being failed
  const load = await currentLoad(executor, agentId);
  const maxSessions = agent.capacity.maxSessions;
  if (load > maxSessions) {
    throw noAgent(
      `agent "${agent.name}" is at capacity (${load - 1} of ${maxSessions} sessions): ` +
        'stop or hibernate another session on it first',
    );
  }
}

/** The agent's load as committed now (a new statement sees placements committed meanwhile). */
async function currentLoad(executor: Kysely<Database>, agentId: string): Promise<number> {
  const row = await executor
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('agentId', '=', agentId)
    .where('state', 'in', LOAD_SESSION_STATES)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Reads every candidate and throws the reason none can be used, or returns the one that can
 * (the agent asked for by id, or one that freed up since the ranking).
 */
async function explainOrPick(
  executor: Kysely<Database>,
  deps: SelectorDeps,
  criteria: AgentCriteria,
): Promise<SelectedAgent> {
  const platformText = criteria.platform === 'auto' ? '' : `${criteria.platform} `;
  const all = await candidates(executor, deps, { agentId: criteria.agentId });
  if (criteria.agentId !== undefined) {
    const agent = all[0];
    if (agent === undefined) throw noAgent(`agent ${criteria.agentId} does not exist`);
    if (criteria.platform !== 'auto' && agent.platform !== criteria.platform)
      throw noAgent(`agent "${agent.name}" runs ${agent.platform}, not ${criteria.platform}`);
    if (!isOnline(agent)) throw noAgent(`agent "${agent.name}" is offline`);
    if (agent.draining) throw noAgent(`agent "${agent.name}" is draining`);
    if (agent.load >= agent.maxSessions)
      throw noAgent(
        `agent "${agent.name}" is at capacity (${agent.load} of ${agent.maxSessions} sessions)`,
      );
    return selected(agent);
  }
  const matching = all.filter(
    (agent) =>
      (criteria.platform === 'auto' || agent.platform === criteria.platform) &&
      (criteria.region === undefined || criteria.region === agent.region) &&
      matchesLabels(agent.labels, criteria.labels),
  );
  const where = [
    criteria.region === undefined ? '' : ` in region "${criteria.region}"`,
    criteria.labels === undefined || Object.keys(criteria.labels).length === 0
      ? ''
      : ` with labels ${Object.entries(criteria.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`,
  ].join('');
  const online = matching.filter(isOnline);
  if (online.length === 0) {
    throw noAgent(
      criteria.platform === 'auto'
        ? `no agent is online on any platform${where}`
        : `no ${platformText}agent is online${where}`,
    );
  }
  const serving = online.filter((agent) => !agent.draining);
  if (serving.length === 0) throw noAgent(`every online ${platformText}agent${where} is draining`);
  const free = serving.filter((agent) => agent.load < agent.maxSessions);
  if (free.length === 0) throw noAgent(`every online ${platformText}agent${where} is at capacity`);
  free.sort(
    (a, b) =>
      a.load / a.maxSessions - b.load / b.maxSessions ||
      a.load - b.load ||
      a.id.localeCompare(b.id),
  );
  return selected(free[0] as Candidate);
}

/**
 * The rule of selectAgent evaluated by PostgreSQL, so that only the best `limit` agents cross
 * the wire, best first: with 2,000 agents, reading every candidate and its load into the
 * process took half of a session's placement (bench/control-plane-scale.ts).
 */
async function leastLoaded(
  executor: Kysely<Database>,
  deps: SelectorDeps,
  criteria: AgentCriteria,
  limit: number,
): Promise<SelectedAgent[]> {
  const maxSessions = sql`(agents.capacity->>'maxSessions')::int`;
  const wanted = criteria.labels ?? {};
  const result = await sql<SelectedAgent>`
    SELECT agents.id, agents.name, agents.platform, agents.region, l.n::int AS load, ${maxSessions} AS "maxSessions"
    FROM agents
    CROSS JOIN LATERAL (
      SELECT count(*) AS n FROM sessions s WHERE s.agent_id = agents.id AND s.state IN (${LOAD_STATES_SQL})
    ) l
    WHERE ${onlineAgentSql(new Date(deps.now() - deps.heartbeatTimeoutMs))}
      AND NOT agents.draining
      ${criteria.platform === 'auto' ? sql`` : sql`AND agents.platform = ${criteria.platform}`}
      ${criteria.region === undefined ? sql`` : sql`AND agents.region = ${criteria.region}`}
      ${Object.keys(wanted).length === 0 ? sql`` : sql`AND agents.labels @> ${JSON.stringify(wanted)}::jsonb`}
      AND l.n < ${maxSessions}
    ORDER BY l.n::float8 / ${maxSessions}, l.n, agents.id
    LIMIT ${limit}
  `.execute(executor);
  return result.rows;
}

/** Online agents and free slots per platform (draining agents offer no slots). */
export async function platformAvailability(
  executor: Kysely<Database>,
  deps: SelectorDeps,
): Promise<PlatformsResponse> {
  // Summed by PostgreSQL from one grouped pass over the sessions holding slots: the catalog
  // asks on every visit, and reading 2,000 agents with a load count each took 30–140 ms.
  const result = await sql<{ platform: Platform; onlineAgents: number; freeSlots: number }>`
    SELECT agents.platform, count(*)::int AS "onlineAgents",
      coalesce(sum(greatest(0, (agents.capacity->>'maxSessions')::int - coalesce(l.n, 0)))
        FILTER (WHERE NOT agents.draining), 0)::int AS "freeSlots"
    FROM agents
    LEFT JOIN (
      SELECT agent_id, count(*) AS n FROM sessions WHERE state IN (${LOAD_STATES_SQL}) GROUP BY agent_id
    ) l ON l.agent_id = agents.id
    WHERE ${onlineAgentSql(new Date(deps.now() - deps.heartbeatTimeoutMs))}
    GROUP BY agents.platform
  `.execute(executor);
  const byPlatform = new Map(result.rows.map((row) => [row.platform, row]));
  return {
    platforms: PLATFORMS.map((platform) => ({
      platform,
      onlineAgents: byPlatform.get(platform)?.onlineAgents ?? 0,
      freeSlots: byPlatform.get(platform)?.freeSlots ?? 0,
    })),
  };
}

function selected(agent: Candidate): SelectedAgent {
  return {
    id: agent.id,
    name: agent.name,
    platform: agent.platform,
    region: agent.region,
    load: agent.load,
    maxSessions: agent.maxSessions,
  };
}

function noAgent(message: string): ApiError {
  return new ApiError('no_agent_available', message);
}
