import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AgentListQuery,
  AgentSessionListQuery,
  CreateEnrollmentTokenRequest,
  RegisterAgentRequest,
  UpdateAgentRequest,
  type SessionPage,
} from '@streamspace/protocol';
import type { RequestAuth } from '../auth/request-auth';
import type { Db } from '../db/database';
import { ApiError } from '../http/api-error';
import { parseIdParam, parseInput } from '../http/parse';
import { agentCredentialOf, authenticateAgent } from './agent-credentials';
import type { AgentService } from './agent-service';
import { actorOf } from '../auth/principal';

export interface AgentRoutesDeps {
  db: Db;
  agents: AgentService;
  guard: RequestAuth;
  /** A page of the sessions placed on an agent (the sessions module's views). */
  sessionsOfAgent: (agentId: string, query: AgentSessionListQuery) => Promise<SessionPage>;
  /** Runs before an agent row is deleted: settle the sessions placed on it. */
  beforeAgentDeleted: (agentId: string, actor: string) => Promise<void>;
  /** Runs after an agent row is deleted: close its socket, settle its open commands. */
  onAgentDeleted: (agentId: string) => Promise<void>;
}

export function registerAgentRoutes(app: FastifyInstance, deps: AgentRoutesDeps): void {
  const { db, agents, guard } = deps;

  // signed in: what the launcher offers
  app.get('/api/v1/platforms', async (request) => {
    await guard.requireUser(request);
    return agents.platforms();
  });

  // admin
  app.post('/api/v1/agents/enrollment-tokens', async (request, reply) => {
    const admin = await guard.requireAdmin(request);
    const body = parseInput(CreateEnrollmentTokenRequest, request.body);
    return reply.status(201).send(await agents.createEnrollmentToken(body, admin.userId));
  });

  // enrollment token (Authorization: Bearer sse_…)
  app.post('/api/v1/agents/register', async (request, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const body = parseInput(RegisterAgentRequest, request.body);
    return reply.status(201).send(await agents.register(token, body));
  });

  // admin: a page of agents by name (docs/api.md "Pagination")
  app.get('/api/v1/agents', async (request) => {
    await guard.requireAdmin(request);
    return agents.list(parseInput(AgentListQuery, request.query, 'query'));
  });

  // admin
  app.get('/api/v1/agents/:id', async (request) => {
    await guard.requireAdmin(request);
    return agents.get(parseIdParam(request.params, 'agent'));
  });

  // admin: labels, region, capacity, draining
  app.put('/api/v1/agents/:id', async (request) => {
    await guard.requireAdmin(request);
    const id = parseIdParam(request.params, 'agent');
    return agents.update(id, parseInput(UpdateAgentRequest, request.body));
  });

  // admin: the credential stops working now; the socket is closed with agentDeleted
  app.delete('/api/v1/agents/:id', async (request, reply) => {
    const admin = await guard.requireAdmin(request);
    const id = parseIdParam(request.params, 'agent');
    await agents.get(id); // 404 before touching its sessions
    await deps.beforeAgentDeleted(id, actorOf(admin));
    await agents.remove(id);
    await deps.onAgentDeleted(id);
    return reply.status(204).send();
  });

  // that agent (Bearer agent secret + X-StreamSpace-Agent-Id)
  app.post('/api/v1/agents/:id/heartbeat', async (request) => {
    const id = parseIdParam(request.params, 'agent');
    await requireAgent(request, id);
    return agents.heartbeat(id);
  });

  // admin: a page of its sessions, newest first, like GET /sessions
  app.get('/api/v1/agents/:id/sessions', async (request) => {
    await guard.requireAdmin(request);
    const id = parseIdParam(request.params, 'agent');
    const query = parseInput(AgentSessionListQuery, request.query, 'query');
    await agents.get(id);
    return deps.sessionsOfAgent(id, query);
  });

  // admin
  app.get('/api/v1/agents/:id/commands', async (request) => {
    await guard.requireAdmin(request);
    return { items: await agents.listCommands(parseIdParam(request.params, 'agent')) };
  });

  async function requireAgent(request: FastifyRequest, agentId: string): Promise<void> {
    const agent = await authenticateAgent(db, agentCredentialOf(request.headers));
    if (agent === null)
      throw new ApiError('unauthenticated', 'wrong or missing agent id or agent secret');
    // Another agent's credential may not act for this one; it cannot see it either.
    if (agent.id !== agentId) throw new ApiError('not_found', 'agent not found');
  }
}
