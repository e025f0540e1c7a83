import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CloseCode, type Agent, type PlatformsResponse } from '@streamspace/protocol';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import {
  api,
  insertSession,
  RawAgentSocket,
  registerAgent,
  startControlPlane,
  type ControlPlane,
} from './agent-test-harness';

describe('agents API', () => {
  let database: TestDatabase;
  let cp: ControlPlane;

  before(async () => {
    database = await createTestDatabase();
    // The raw test agents never heartbeat: a long timeout keeps a slow machine from closing
    // their links in the middle of a test.
    cp = await startControlPlane(database, { env: { STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000' } });
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
  });

  const enrollmentToken = async (body: object = {}) =>
    (
      (
        await api(cp.url, 'POST', '/api/v1/agents/enrollment-tokens', {
          token: cp.adminToken,
          body,
        })
      ).body as { token: string }
    ).token;

  it('registers a new agent with its own secret, shown once and stored hashed', async () => {
    const token = await enrollmentToken();
    const response = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token,
      body: { name: 'docker-1', platform: 'docker', region: 'eu', labels: { gpu: 'no' } },
    });
    assert.equal(response.status, 201);
    const body = response.body as { agent: Agent; agentSecret: string };
    assert.match(body.agentSecret, /^ssa_/);
    assert.equal(body.agent.status, 'offline');
    assert.equal(body.agent.platform, 'docker');
    const row = await cp.app.db
      .selectFrom('agents')
      .select('secretHash')
      .where('id', '=', body.agent.id)
      .executeTakeFirstOrThrow();
    assert.ok(!row.secretHash.includes(body.agentSecret), 'only a hash is stored');

    const listed = await api(cp.url, 'GET', '/api/v1/agents', { token: cp.adminToken });
    assert.ok((listed.body as { items: Agent[] }).items.some((a) => a.name === 'docker-1'));
  });

  it('never grants an existing identity: a taken id or name is 409 and the use is not spent', async () => {
    const existing = await registerAgent(cp, { name: 'taken-name' });
    const token = await enrollmentToken({ maxUses: 1 });
    const byId = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token,
      body: { agentId: existing.agentId, name: 'other-name', platform: 'docker' },
    });
    assert.equal(byId.status, 409);
    assert.equal((byId.body as { error: { code: string } }).error.code, 'agent_identity_taken');
    const byName = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token,
      body: { name: 'taken-name', platform: 'docker' },
    });
    assert.equal(byName.status, 409);
    // The existing agent's secret still works and nobody else got it.
    const heartbeat = await api(cp.url, 'POST', `/api/v1/agents/${existing.agentId}/heartbeat`, {
      token: existing.agentSecret,
      headers: { 'x-streamspace-agent-id': existing.agentId },
    });
    assert.equal(heartbeat.status, 200);
    // Refusals did not spend the single use.
    const fresh = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token,
      body: { name: 'fresh-name', platform: 'local' },
    });
    assert.equal(fresh.status, 201);
    const reused = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token,
      body: { name: 'another-name', platform: 'local' },
    });
    assert.equal(reused.status, 401);
    assert.equal(
      (reused.body as { error: { code: string } }).error.code,
      'enrollment_token_invalid',
    );
  });

  it('refuses enrollment without a valid token and enrollment-token creation for non-admins', async () => {
    const none = await api(cp.url, 'POST', '/api/v1/agents/register', {
      body: { name: 'x1', platform: 'docker' },
    });
    assert.equal(none.status, 401);
    const bogus = await api(cp.url, 'POST', '/api/v1/agents/register', {
      token: 'sse_' + 'a'.repeat(43),
      body: { name: 'x2', platform: 'docker' },
    });
    assert.equal(bogus.status, 401);
    const anonymous = await api(cp.url, 'POST', '/api/v1/agents/enrollment-tokens', { body: {} });
    assert.equal(anonymous.status, 401);
  });

  it('embedded agent credentials: created once, rotated on each issue, never across platforms', async () => {
    const first = await cp.app.agents.issueEmbeddedAgentCredentials({
      name: 'embedded-local',
      platform: 'local',
      capacity: { maxSessions: 4 },
    });
    const second = await cp.app.agents.issueEmbeddedAgentCredentials({
      name: 'embedded-local',
      platform: 'local',
      capacity: { maxSessions: 4 },
    });
    assert.equal(second.agentId, first.agentId, 'the same agent');
    const heartbeat = (credentials: { agentId: string; agentSecret: string }) =>
      api(cp.url, 'POST', `/api/v1/agents/${credentials.agentId}/heartbeat`, {
        token: credentials.agentSecret,
        headers: { 'x-streamspace-agent-id': credentials.agentId },
      });
    assert.equal((await heartbeat(first)).status, 401, 'the old secret was rotated away');
    assert.equal((await heartbeat(second)).status, 200);
    await assert.rejects(
      cp.app.agents.issueEmbeddedAgentCredentials({
        name: 'embedded-local',
        platform: 'docker',
        capacity: { maxSessions: 4 },
      }),
      { code: 'agent_identity_taken' },
    );
    assert.equal((await heartbeat(second)).status, 200, 'a refused issue changes nothing');
  });

  it('updates labels, region, capacity and draining; status shows draining', async () => {
    const agent = await registerAgent(cp);
    const updated = await api(cp.url, 'PUT', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
      body: { labels: { zone: 'a' }, region: 'us', capacity: { maxSessions: 3 }, draining: true },
    });
    assert.equal(updated.status, 200);
    const body = updated.body as Agent;
    assert.deepEqual(body.labels, { zone: 'a' });
    assert.equal(body.region, 'us');
    assert.equal(body.capacity.maxSessions, 3);
    assert.equal(body.status, 'draining');
    const missing = await api(cp.url, 'GET', `/api/v1/agents/${randomUUID()}`, {
      token: cp.adminToken,
    });
    assert.equal(missing.status, 404);
  });

  it("an admin's capacity outlives the agent's reconnects; the agent's own counts until then", async () => {
    const agent = await registerAgent(cp, { platform: 'kubernetes' });
    const first = RawAgentSocket.forAgent(cp.url, agent);
    assert.equal(await first.opened, true);
    first.hello(agent, { capacity: { maxSessions: 9 } });
    await waitFor('welcome', () => first.ofType('welcome').length > 0);
    const reported = await api(cp.url, 'GET', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
    });
    assert.equal((reported.body as Agent).capacity.maxSessions, 9, 'the hello sets it');
    await api(cp.url, 'PUT', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
      body: { capacity: { maxSessions: 2 } },
    });
    first.close();
    const second = RawAgentSocket.forAgent(cp.url, agent);
    assert.equal(await second.opened, true);
    second.hello(agent, { capacity: { maxSessions: 9 } });
    await waitFor('welcome again', () => second.ofType('welcome').length > 0);
    const after = await api(cp.url, 'GET', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
    });
    assert.equal((after.body as Agent).capacity.maxSessions, 2, "the admin's value stays");
    second.close();
  });

  it("heartbeat needs that agent's own credential", async () => {
    const a = await registerAgent(cp);
    const b = await registerAgent(cp);
    const wrong = await api(cp.url, 'POST', `/api/v1/agents/${a.agentId}/heartbeat`, {
      token: 'ssa_' + 'x'.repeat(43),
      headers: { 'x-streamspace-agent-id': a.agentId },
    });
    assert.equal(wrong.status, 401);
    const other = await api(cp.url, 'POST', `/api/v1/agents/${a.agentId}/heartbeat`, {
      token: b.agentSecret,
      headers: { 'x-streamspace-agent-id': b.agentId },
    });
    assert.equal(other.status, 404);
    const own = await api(cp.url, 'POST', `/api/v1/agents/${a.agentId}/heartbeat`, {
      token: a.agentSecret,
      headers: { 'x-streamspace-agent-id': a.agentId },
    });
    assert.equal(own.status, 200);
    assert.ok((own.body as Agent).lastHeartbeatAt !== null);
  });

  it('platforms: online agents and free slots per platform, for any signed-in user', async () => {
    const agent = await registerAgent(cp, { platform: 'kubernetes' });
    const socket = RawAgentSocket.forAgent(cp.url, agent);
    assert.equal(await socket.opened, true);
    socket.hello(agent, { capacity: { maxSessions: 7 } });
    await waitFor('welcome', () => socket.ofType('welcome').length > 0);
    const response = await api(cp.url, 'GET', '/api/v1/platforms', { token: cp.adminToken });
    assert.equal(response.status, 200);
    const kubernetes = (response.body as PlatformsResponse).platforms.find(
      (p) => p.platform === 'kubernetes',
    );
    assert.deepEqual(kubernetes, { platform: 'kubernetes', onlineAgents: 1, freeSlots: 7 });
    assert.equal((await api(cp.url, 'GET', '/api/v1/platforms')).status, 401);
    socket.close();
  });

  it("delete closes the agent's link with agentDeleted and its secret stops working", async () => {
    const agent = await registerAgent(cp);
    const socket = RawAgentSocket.forAgent(cp.url, agent);
    assert.equal(await socket.opened, true);
    socket.hello(agent);
    await waitFor('welcome', () => socket.ofType('welcome').length > 0);
    const sessionId = await insertSession(cp.app, agent.agentId);
    const command = await cp.app.commands.enqueue({
      agentId: agent.agentId,
      sessionId,
      payload: { type: 'hibernate_session', sessionId },
    });
    const sessions = await api(cp.url, 'GET', `/api/v1/agents/${agent.agentId}/sessions`, {
      token: cp.adminToken,
    });
    assert.deepEqual(
      (sessions.body as { items: { id: string }[] }).items.map((s) => s.id),
      [sessionId],
    );
    const commands = await api(cp.url, 'GET', `/api/v1/agents/${agent.agentId}/commands`, {
      token: cp.adminToken,
    });
    assert.deepEqual(
      (commands.body as { items: { id: string; type: string }[] }).items.map((c) => c.type),
      ['hibernate_session'],
    );
    const deleted = await api(cp.url, 'DELETE', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
    });
    assert.equal(deleted.status, 204);
    await waitFor('the link to close', () => socket.closeCode !== undefined);
    assert.equal(socket.closeCode, CloseCode.agentDeleted);
    const again = RawAgentSocket.forAgent(cp.url, agent);
    assert.equal(await again.opened, false);
    assert.equal(again.httpStatus, 401);
    const listed = await api(cp.url, 'GET', `/api/v1/agents/${agent.agentId}`, {
      token: cp.adminToken,
    });
    assert.equal(listed.status, 404);
    const row = await cp.app.db
      .selectFrom('agentCommands')
      .select(['state', 'error'])
      .where('id', '=', command.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.state, 'expired', 'its open commands end at once');
    assert.match(row.error ?? '', /agent was deleted/);
  });
});
