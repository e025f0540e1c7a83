import { randomUUID } from 'node:crypto';
import type { Expression, Kysely, SqlBool } from 'kysely';
import { z } from 'zod';
import type {
  Agent,
  AgentCommand,
  AgentListQuery,
  AgentPage,
  AgentStatus,
  Clock,
  CreateEnrollmentTokenRequest,
  CreateEnrollmentTokenResponse,
  EnrollmentToken,
  PlatformsResponse,
  RegisterAgentRequest,
  RegisterAgentResponse,
  UpdateAgentRequest,
} from '@streamspace/protocol';
import { generateSecret, hashSecret } from '../auth/secrets';
import type { Db } from '../db/database';
import type { AgentCommandRow, AgentRow, Database } from '../db/schema';
import { containsPattern } from '../db/contains-pattern';
import { ApiError } from '../http/api-error';
import { createPageCursor } from '../http/page-cursor';
import {
  LOAD_SESSION_STATES,
  onlineAgentSql,
  platformAvailability,
  selectAgent,
  type AgentCriteria,
  type SelectedAgent,
} from './agent-selector';

export interface AgentServiceDeps {
  db: Db;
  clock: Clock;
  /** Silence after which an agent counts as offline, in ms (config.heartbeatTimeoutMs). */
  heartbeatTimeoutMs: number;
}

/** The name of the last agent of a page (names are unique). */
const agentCursor = createPageCursor('agents', z.tuple([z.string().min(1).max(255)]));

export type AgentService = ReturnType<typeof createAgentService>;

/** Enrollment, registration and the admin's view of agents (docs/api.md, /agents rows). */
export function createAgentService({ db, clock, heartbeatTimeoutMs }: AgentServiceDeps) {
  const selectorDeps = { now: () => clock.now(), heartbeatTimeoutMs };

  async function createEnrollmentToken(
    request: CreateEnrollmentTokenRequest,
    createdBy: string,
  ): Promise<CreateEnrollmentTokenResponse> {
    const token = generateSecret('sse');
    const row = await db
      .insertInto('enrollmentTokens')
      .values({
        tokenHash: hashSecret(token),
        createdBy,
        expiresAt: new Date(clock.now() + request.expiresInMinutes * 60_000),
        maxUses: request.maxUses,
        createdAt: new Date(clock.now()),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const enrollmentToken: EnrollmentToken = {
      id: row.id,
      expiresAt: row.expiresAt.toISOString(),
      maxUses: row.maxUses,
      uses: row.uses,
      createdAt: row.createdAt.toISOString(),
    };
    return { token, enrollmentToken };
  }

  /**
   * Spend one use of the enrollment token and create a NEW agent with its own secret. The
   * token never grants an existing identity: a taken id or name is 409 and the use is not
   * spent (the transaction rolls back).
   */
  async function register(
    enrollmentToken: string | undefined,
    request: RegisterAgentRequest,
  ): Promise<RegisterAgentResponse> {
    const invalid = new ApiError(
      'enrollment_token_invalid',
      'the enrollment token is unknown, expired or used up',
    );
    if (enrollmentToken === undefined || !/^sse_[A-Za-z0-9_-]{20,100}$/.test(enrollmentToken))
      throw invalid;
    const agentSecret = generateSecret('ssa');
    const now = new Date(clock.now());
    try {
      const row = await db.transaction().execute(async (trx) => {
        // Atomic: concurrent registrations cannot exceed maxUses.
        const spent = await trx
          .updateTable('enrollmentTokens')
          .set((eb) => ({ uses: eb('uses', '+', 1) }))
          .where('tokenHash', '=', hashSecret(enrollmentToken))
          .where('expiresAt', '>', now)
          .whereRef('uses', '<', 'maxUses')
          .returning('id')
          .executeTakeFirst();
        if (spent === undefined) throw invalid;
        const taken = await trx
          .selectFrom('agents')
          .select(['id', 'name'])
          .where((eb) =>
            eb.or([
              eb('name', '=', request.name),
              ...(request.agentId === undefined ? [] : [eb('id', '=', request.agentId)]),
            ]),
          )
          .executeTakeFirst();
        if (taken !== undefined) throw identityTaken(request, taken);
        return trx
          .insertInto('agents')
          .values({
            id: request.agentId ?? randomUUID(),
            name: request.name,
            platform: request.platform,
            region: request.region,
            labels: JSON.stringify(request.labels),
            capacity: JSON.stringify(request.capacity),
            clusterInfo: JSON.stringify(request.clusterInfo),
            status: 'offline',
            secretHash: hashSecret(agentSecret),
            agentVersion: request.agentVersion,
            createdAt: now,
            updatedAt: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return { agent: toAgent(row, 0), agentSecret };
    } catch (error) {
      // Two registrations racing for one name or id: the loser gets the same 409.
      if ((error as { code?: string }).code === '23505') throw identityTaken(request, undefined);
      throw error;
    }
  }

  /**
   * Credentials for an agent the control plane runs in its own process (the embedded local
   * or docker agent): creates the agent under `name` on first use, else rotates its secret.
   * No enrollment token is involved: the caller is the control plane itself.
   */
  async function issueEmbeddedAgentCredentials(request: {
    name: string;
    platform: RegisterAgentRequest['platform'];
    capacity: RegisterAgentRequest['capacity'];
  }): Promise<{ agentId: string; agentSecret: string }> {
    const agentSecret = generateSecret('ssa');
    const now = new Date(clock.now());
    const row = await db
      .insertInto('agents')
      .values({
        id: randomUUID(),
        name: request.name,
        platform: request.platform,
        region: '',
        labels: JSON.stringify({ embedded: 'true' }),
        capacity: JSON.stringify(request.capacity),
        clusterInfo: JSON.stringify({}),
        status: 'offline',
        secretHash: hashSecret(agentSecret),
        agentVersion: null,
        createdAt: now,
        updatedAt: now,
      })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ secretHash: hashSecret(agentSecret), updatedAt: now })
          // Never take over an agent of another platform that happens to have this name.
          .where('agents.platform', '=', request.platform),
      )
      .returning('id')
      .executeTakeFirst();
    if (row === undefined)
      throw new ApiError(
        'agent_identity_taken',
        `an agent named "${request.name}" exists on another platform than ${request.platform}`,
      );
    return { agentId: row.id, agentSecret };
  }

  /**
   * A page of agents by name (unique, so a stable keyset order on its UNIQUE index), with
   * only the statuses and platforms asked for. Status is filtered with toAgent's rule.
   */
  async function list(request: AgentListQuery): Promise<AgentPage> {
    const after = request.cursor === undefined ? undefined : agentCursor.decode(request.cursor);
    let query = withLoad()
      .orderBy('agents.name')
      // One more than asked: whether it exists says whether there is a next page.
      .limit(request.limit + 1);
    if (after !== undefined) query = query.where('agents.name', '>', after[0]);
    if (request.platform !== undefined)
      query = query.where('agents.platform', 'in', request.platform);
    if (request.name !== undefined)
      query = query.where('agents.name', 'ilike', containsPattern(request.name));
    const statuses = request.status;
    if (statuses !== undefined) {
      const freshSince = new Date(clock.now() - heartbeatTimeoutMs);
      query = query.where((eb) => {
        const online = onlineAgentSql(freshSince);
        const byStatus: Record<AgentStatus, Expression<SqlBool>> = {
          draining: eb('agents.draining', '=', true),
          online: eb.and([eb('agents.draining', '=', false), online]),
          offline: eb.and([eb('agents.draining', '=', false), eb.not(online)]),
        };
        return eb.or(statuses.map((status) => byStatus[status]));
      });
    }
    const { rows, nextCursor } = agentCursor.page(await query.execute(), request.limit, (row) => [
      row.name,
    ]);
    return { items: rows.map((row) => toAgent(row, Number(row.load ?? 0))), nextCursor };
  }

  async function get(id: string): Promise<Agent> {
    const row = await withLoad().where('agents.id', '=', id).executeTakeFirst();
    if (row === undefined) throw new ApiError('not_found', 'agent not found');
    return toAgent(row, Number(row.load ?? 0));
  }

  async function update(id: string, request: UpdateAgentRequest): Promise<Agent> {
    const result = await db
      .updateTable('agents')
      .set({
        ...(request.labels === undefined ? {} : { labels: JSON.stringify(request.labels) }),
        ...(request.region === undefined ? {} : { region: request.region }),
        ...(request.capacity === undefined
          ? {}
          : { capacity: JSON.stringify(request.capacity), capacityFromAdmin: true }),
        ...(request.draining === undefined ? {} : { draining: request.draining }),
        updatedAt: new Date(clock.now()),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new ApiError('not_found', 'agent not found');
    return get(id);
  }

  /** Delete the row: the secret stops working at once. Callers close the socket. */
  async function remove(id: string): Promise<void> {
    const result = await db.deleteFrom('agents').where('id', '=', id).executeTakeFirst();
    if (result.numDeletedRows === 0n) throw new ApiError('not_found', 'agent not found');
  }

  /** Manual heartbeat over REST: records that the agent is alive; the socket sets status. */
  async function heartbeat(id: string): Promise<Agent> {
    await db
      .updateTable('agents')
      .set({ lastHeartbeatAt: new Date(clock.now()) })
      .where('id', '=', id)
      .execute();
    return get(id);
  }

  async function listCommands(agentId: string, limit = 200): Promise<AgentCommand[]> {
    await get(agentId);
    const rows = await db
      .selectFrom('agentCommands')
      .selectAll()
      .where('agentId', '=', agentId)
      .orderBy('createdAt', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toAgentCommand);
  }

  function withLoad() {
    return db
      .selectFrom('agents')
      .selectAll('agents')
      .select((eb) =>
        eb
          .selectFrom('sessions')
          .select((inner) => inner.fn.countAll<string>().as('n'))
          .whereRef('sessions.agentId', '=', 'agents.id')
          .where('sessions.state', 'in', LOAD_SESSION_STATES)
          .as('load'),
      );
  }

  function toAgent(row: AgentRow, sessionCount: number): Agent {
    const fresh =
      row.lastHeartbeatAt !== null &&
      row.lastHeartbeatAt.getTime() >= clock.now() - heartbeatTimeoutMs;
    const online = row.status === 'online' && row.connectedReplica !== null && fresh;
    return {
      id: row.id,
      name: row.name,
      platform: row.platform,
      region: row.region,
      labels: row.labels,
      capacity: row.capacity,
      clusterInfo: row.clusterInfo,
      status: row.draining ? 'draining' : online ? 'online' : 'offline',
      connected: online,
      lastHeartbeatAt: row.lastHeartbeatAt?.toISOString() ?? null,
      agentVersion: row.agentVersion,
      sessionCount,
      createdAt: row.createdAt.toISOString(),
    };
  }

  return {
    createEnrollmentToken,
    register,
    issueEmbeddedAgentCredentials,
    list,
    get,
    update,
    remove,
    heartbeat,
    listCommands,
    /**
     * The least-loaded online, non-draining agent with a free slot for these criteria, or
     * ApiError `no_agent_available`. Pass the caller's transaction as `executor` to read
     * the load inside it.
     */
    selectAgent: (
      criteria: AgentCriteria,
      executor: Kysely<Database> = db,
    ): Promise<SelectedAgent> => selectAgent(executor, selectorDeps, criteria),
    platforms: (): Promise<PlatformsResponse> => platformAvailability(db, selectorDeps),
  };
}

function identityTaken(
  request: RegisterAgentRequest,
  taken: { id: string; name: string } | undefined,
): ApiError {
  const what =
    taken === undefined
      ? `agent id or name "${request.name}"`
      : taken.id === request.agentId
        ? `agent id ${request.agentId}`
        : `agent name "${request.name}"`;
  return new ApiError(
    'agent_identity_taken',
    `${what} already belongs to a registered agent; an enrollment token only creates new agents`,
  );
}

function toAgentCommand(row: AgentCommandRow): AgentCommand {
  return {
    id: row.id,
    agentId: row.agentId,
    sessionId: row.sessionId,
    type: row.type,
    state: row.state,
    attempts: row.attempts,
    deadline: row.deadline.toISOString(),
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
