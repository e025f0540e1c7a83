import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Agent, Page, Session } from '@streamspace/protocol';
import {
  api,
  createUser,
  loginAs,
  startTestApp,
  TEST_ADMIN_PASSWORD,
  type TestApp,
} from './test-app';

// Keyset pagination of GET /sessions, /agents and /agents/:id/sessions (docs/api.md
// "Pagination"), on a real control plane and PostgreSQL. Rows are written in SQL: the lists
// only read them, and thousands of launches through an agent would take minutes.

/** Rows per user; a few hundred make several pages at small limits. */
const SESSIONS_PER_USER = 120;

describe('list pagination', () => {
  let cp: TestApp;
  let adminToken: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let agentId: string;

  before(async () => {
    // No lifecycle pass during the test: the seeded sessions keep their states.
    cp = await startTestApp({ env: { STREAMSPACE_SCHEDULER_INTERVAL_SECONDS: '3600' } });
    adminToken = await loginAs(cp.baseUrl, 'admin', TEST_ADMIN_PASSWORD);
    alice = await createUser(cp.baseUrl, adminToken, 'alice');
    bob = await createUser(cp.baseUrl, adminToken, 'bob');
    agentId = randomUUID();
    await sql`INSERT INTO agents (id, name, platform, capacity, status, secret_hash)
      VALUES (${agentId}, 'placed-on', 'local', '{"maxSessions":1}', 'offline', 'x')`.execute(
      cp.app.db,
    );
    // Three sessions share each microsecond and consecutive ones are a microsecond apart, so
    // a cursor that kept only milliseconds (a JavaScript Date) or no id would skip or repeat
    // rows. Every fifth is hibernated, every seventh failed; alice's even ones are on the agent.
    for (const user of [alice, bob]) {
      await sql`
        INSERT INTO sessions (user_id, template_id, platform, agent_id, state, home_key,
            vnc_password, created_at)
          SELECT ${user.id}, 'terminal', 'local',
            CASE WHEN ${user.id === alice.id} AND g % 2 = 0 THEN ${agentId}::uuid END,
            CASE WHEN g % 5 = 0 THEN 'hibernated' WHEN g % 7 = 0 THEN 'failed' ELSE 'stopped' END,
            'h', 'p', now() - (g / 3) * interval '1 microsecond'
          FROM generate_series(1, ${SESSIONS_PER_USER}) g`.execute(cp.app.db);
    }
    // Deleted sessions are never listed.
    await sql`
      INSERT INTO sessions (user_id, template_id, platform, state, home_key, vnc_password,
          deleted_at)
        VALUES (${alice.id}, 'terminal', 'local', 'stopped', 'h', 'p', now())`.execute(cp.app.db);
  });
  after(async () => {
    await cp?.close();
  });

  /** Ids in the order the API must list them: newest first, then by id descending. */
  async function expectedIds(where: { userId?: string; agentId?: string; states?: string[] }) {
    let query = cp.app.db
      .selectFrom('sessions')
      .select('id')
      .where('deletedAt', 'is', null)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc');
    if (where.userId) query = query.where('userId', '=', where.userId);
    if (where.agentId) query = query.where('agentId', '=', where.agentId);
    if (where.states) query = query.where('state', 'in', where.states as Session['state'][]);
    return (await query.execute()).map((row) => row.id);
  }

  async function getPage<T>(path: string, token: string): Promise<Page<T>> {
    const response = await api(cp.baseUrl, 'GET', path, { token });
    assert.equal(response.status, 200, `${path}: ${JSON.stringify(response.body)}`);
    return response.body as Page<T>;
  }

  /** Follows nextCursor from `path` to the last page; `between` runs before each next page. */
  async function walk<T>(
    path: string,
    token: string,
    between: (page: number) => Promise<void> = async () => {},
  ): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    const url = new URL(path, cp.baseUrl);
    let page = await getPage<T>(`${url.pathname}${url.search}`, token);
    let pages = 1;
    items.push(...page.items);
    while (page.nextCursor !== null) {
      await between(pages);
      assert.ok(pages < 1000, 'the walk ends');
      url.searchParams.set('cursor', page.nextCursor);
      page = await getPage<T>(`${url.pathname}${url.search}`, token);
      pages += 1;
      items.push(...page.items);
    }
    return { items, pages };
  }

  it('walks every session exactly once, newest first, even as sessions are created meanwhile', async () => {
    const expected = await expectedIds({});
    assert.equal(expected.length, 2 * SESSIONS_PER_USER);
    const created: string[] = [];
    const { items, pages } = await walk<Session>(
      '/api/v1/sessions?scope=all&limit=37',
      adminToken,
      async () => {
        // A user launches while the admin pages: the new session sorts before the first page.
        const [row] = await sql<{ id: string }>`
          INSERT INTO sessions (user_id, template_id, platform, state, home_key, vnc_password)
            VALUES (${bob.id}, 'terminal', 'local', 'stopped', 'h', 'p') RETURNING id`
          .execute(cp.app.db)
          .then((result) => result.rows);
        created.push(row!.id);
      },
    );
    assert.equal(pages, Math.ceil(expected.length / 37));
    assert.deepEqual(
      items.map((session) => session.id),
      expected,
      'each row once, in (createdAt desc, id desc) order',
    );
    const fresh = await getPage<Session>('/api/v1/sessions?scope=all&limit=10', adminToken);
    assert.ok(
      created.every((id) => fresh.items.some((session) => session.id === id)),
      'a new first page shows the sessions created during the walk',
    );
    await cp.app.db.deleteFrom('sessions').where('id', 'in', created).execute();
  });

  it('without parameters answers the first 100 items and a cursor; limit is 1..500', async () => {
    const first = await getPage<Session>('/api/v1/sessions?scope=all', adminToken);
    assert.equal(first.items.length, 100, 'the default page size');
    assert.equal(typeof first.nextCursor, 'string');
    const big = await getPage<Session>('/api/v1/sessions?scope=all&limit=500', adminToken);
    assert.equal(big.items.length, 2 * SESSIONS_PER_USER, 'everything fits in one page');
    assert.equal(big.nextCursor, null, 'the last page says so');
    const exact = await getPage<Session>(
      `/api/v1/sessions?scope=all&limit=${2 * SESSIONS_PER_USER}`,
      adminToken,
    );
    assert.equal(exact.nextCursor, null, 'a page that ends exactly at the last row is the last');
    const one = await getPage<Session>('/api/v1/sessions?limit=1', alice.token);
    assert.equal(one.items.length, 1);

    for (const limit of ['0', '501', '-1', 'ten', '2.5', '', '1e2']) {
      const response = await api(
        cp.baseUrl,
        'GET',
        `/api/v1/sessions?limit=${encodeURIComponent(limit)}`,
        { token: alice.token },
      );
      assert.equal(response.status, 400, `limit=${limit}`);
      assert.equal(response.body.error.code, 'validation_failed');
      assert.match(response.body.error.message, /limit/);
    }
    const agents = await api(cp.baseUrl, 'GET', '/api/v1/agents?limit=1000', {
      token: adminToken,
    });
    assert.equal(agents.status, 400);
    assert.equal(agents.body.error.code, 'validation_failed');
  });

  it('refuses a malformed, tampered or foreign cursor with 400 invalid_cursor', async () => {
    const { nextCursor } = await getPage<Session>('/api/v1/sessions?limit=5', alice.token);
    assert.ok(nextCursor);
    const agentsPage = await getPage<Agent>('/api/v1/agents?limit=1', adminToken);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad = [
      'not a cursor!',
      nextCursor.slice(0, -3),
      `${nextCursor}x`,
      encode('sessions'),
      encode({ list: 'sessions' }),
      encode(['sessions', '2026-01-01T00:00:00Z', randomUUID()]),
      encode(['sessions', '2026-01-01T00:00:00.000000Z', 'not-a-uuid']),
      encode(['sessions', "2026-01-01T00:00:00.000000Z' OR 1=1 --", randomUUID()]),
      Buffer.from('{"unterminated').toString('base64url'),
    ];
    if (agentsPage.nextCursor !== null) bad.push(agentsPage.nextCursor);
    for (const cursor of bad) {
      for (const path of ['/api/v1/sessions', `/api/v1/agents/${agentId}/sessions`]) {
        const token = path.startsWith('/api/v1/agents') ? adminToken : alice.token;
        const response = await api(
          cp.baseUrl,
          'GET',
          `${path}?cursor=${encodeURIComponent(cursor)}`,
          { token },
        );
        assert.equal(response.status, 400, `${path} cursor=${cursor}`);
        assert.equal(response.body.error.code, 'invalid_cursor');
      }
    }
    for (const cursor of ['%%%', encode(['agents']), nextCursor]) {
      const response = await api(
        cp.baseUrl,
        'GET',
        `/api/v1/agents?cursor=${encodeURIComponent(cursor)}`,
        { token: adminToken },
      );
      assert.equal(response.status, 400, `agents cursor=${cursor}`);
      assert.equal(response.body.error.code, 'invalid_cursor');
    }
  });

  it("a user pages through their own sessions only, whoever's cursor they pass", async () => {
    const own = await walk<Session>('/api/v1/sessions?limit=50', alice.token);
    assert.deepEqual(
      own.items.map((session) => session.id),
      await expectedIds({ userId: alice.id }),
    );
    // A cursor from the admin's list of everyone, positioned among alice's sessions: bob gets
    // his own sessions after that position and nothing of alice's.
    const everyone = await getPage<Session>('/api/v1/sessions?scope=all&limit=3', adminToken);
    const fromAdmin = await walk<Session>(
      `/api/v1/sessions?limit=50&cursor=${encodeURIComponent(everyone.nextCursor!)}`,
      bob.token,
    );
    assert.ok(fromAdmin.items.length > 0);
    assert.ok(fromAdmin.items.every((session) => session.userId === bob.id));
    const stolen = await getPage<Session>('/api/v1/sessions?limit=5', alice.token);
    const withAlices = await getPage<Session>(
      `/api/v1/sessions?limit=500&cursor=${encodeURIComponent(stolen.nextCursor!)}`,
      bob.token,
    );
    assert.ok(withAlices.items.every((session) => session.userId === bob.id));
    const forbidden = await api(cp.baseUrl, 'GET', '/api/v1/sessions?scope=all', {
      token: bob.token,
    });
    assert.equal(forbidden.status, 403);
  });

  it('filters sessions by state, one or several, on every page', async () => {
    const hibernated = await walk<Session>(
      '/api/v1/sessions?scope=all&state=hibernated&limit=10',
      adminToken,
    );
    assert.deepEqual(
      hibernated.items.map((session) => session.id),
      await expectedIds({ states: ['hibernated'] }),
    );
    assert.ok(hibernated.pages > 1);
    const two = await walk<Session>(
      '/api/v1/sessions?state=hibernated&state=failed&limit=7',
      alice.token,
    );
    assert.deepEqual(
      two.items.map((session) => session.id),
      await expectedIds({ userId: alice.id, states: ['hibernated', 'failed'] }),
    );
    const comma = await walk<Session>('/api/v1/sessions?state=hibernated,failed', alice.token);
    assert.deepEqual(comma.items, two.items);
    const bad = await api(cp.baseUrl, 'GET', '/api/v1/sessions?state=sleeping', {
      token: alice.token,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'validation_failed');
  });

  it('narrows the admin list by username; a user cannot widen theirs with it', async () => {
    const bobs = await walk<Session>('/api/v1/sessions?scope=all&user=BO&limit=50', adminToken);
    assert.deepEqual(
      bobs.items.map((session) => session.id),
      await expectedIds({ userId: bob.id }),
      'a case-insensitive part of the name',
    );
    assert.ok(bobs.pages > 1);
    const nobody = await getPage<Session>('/api/v1/sessions?scope=all&user=b_b', adminToken);
    assert.deepEqual(nobody, { items: [], nextCursor: null }, '_ is not a wildcard');
    // On a user's own list the filter only narrows: bob asking for alice's sees nothing.
    const notHis = await getPage<Session>('/api/v1/sessions?user=alice', bob.token);
    assert.deepEqual(notHis.items, []);
    const bad = await api(cp.baseUrl, 'GET', `/api/v1/sessions?scope=all&user=${'x'.repeat(33)}`, {
      token: adminToken,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'validation_failed');
  });

  it("pages an agent's sessions the same way", async () => {
    const placed = await walk<Session>(`/api/v1/agents/${agentId}/sessions?limit=13`, adminToken);
    const expected = await expectedIds({ agentId });
    assert.equal(expected.length, SESSIONS_PER_USER / 2);
    assert.deepEqual(
      placed.items.map((session) => session.id),
      expected,
    );
    const failed = await getPage<Session>(
      `/api/v1/agents/${agentId}/sessions?state=failed`,
      adminToken,
    );
    assert.deepEqual(
      failed.items.map((session) => session.id),
      await expectedIds({ agentId, states: ['failed'] }),
    );
  });

  it('walks agents by name and filters them by status and platform', async () => {
    const platforms = ['docker', 'local', 'kubernetes'] as const;
    const seeded = Array.from({ length: 60 }, (_, i) => ({
      name: `pg-agent-${String(i).padStart(3, '0')}`,
      platform: platforms[i % 3]!,
      status: i % 4 === 0 ? 'draining' : i % 4 === 1 ? 'online' : 'offline',
    }));
    for (const agent of seeded) {
      // "online" needs a replica holding its link and a fresh heartbeat; a heartbeat an hour
      // ahead stays fresh for the whole test, so no sweep marks it offline meanwhile.
      const online = agent.status === 'online';
      await sql`
        INSERT INTO agents (id, name, platform, capacity, status, draining, secret_hash,
            connected_replica, last_heartbeat_at)
          VALUES (${randomUUID()}, ${agent.name}, ${agent.platform}, '{"maxSessions":2}',
            ${online ? 'online' : 'offline'}, ${agent.status === 'draining'}, 'x',
            ${online ? 'another-replica' : null},
            ${online ? sql`now() + interval '1 hour'` : null})`.execute(cp.app.db);
    }
    const all = await walk<Agent>('/api/v1/agents?limit=7', adminToken);
    const names = all.items.map((agent) => agent.name);
    assert.deepEqual(names, [...names].sort(), 'by name');
    assert.equal(new Set(names).size, names.length, 'each agent once');
    assert.ok(seeded.every((agent) => names.includes(agent.name)));
    assert.ok(names.includes('placed-on'));
    assert.equal(all.pages, Math.ceil(names.length / 7));

    const statusOf = new Map(all.items.map((agent) => [agent.name, agent.status]));
    for (const agent of seeded) assert.equal(statusOf.get(agent.name), agent.status, agent.name);

    const online = await walk<Agent>('/api/v1/agents?status=online&limit=4', adminToken);
    assert.deepEqual(
      online.items.map((agent) => agent.name),
      seeded.filter((agent) => agent.status === 'online').map((agent) => agent.name),
    );
    assert.ok(online.items.every((agent) => agent.connected));
    const dockerIdle = await walk<Agent>(
      '/api/v1/agents?platform=docker&status=offline,draining&limit=5',
      adminToken,
    );
    assert.deepEqual(
      dockerIdle.items.map((agent) => agent.name),
      seeded
        .filter((agent) => agent.platform === 'docker' && agent.status !== 'online')
        .map((agent) => agent.name),
    );
    const offline = await walk<Agent>('/api/v1/agents?status=offline', adminToken);
    assert.ok(offline.items.some((agent) => agent.name === 'placed-on'));
    assert.ok(offline.items.every((agent) => agent.status === 'offline'));
    // Name search: a case-insensitive substring; LIKE wildcards in it are literal.
    const tens = await walk<Agent>('/api/v1/agents?name=AGENT-01&limit=4', adminToken);
    assert.deepEqual(
      tens.items.map((agent) => agent.name),
      seeded.map((agent) => agent.name).filter((name) => name.includes('agent-01')),
    );
    assert.equal(tens.items.length, 10);
    const wildcard = await getPage<Agent>('/api/v1/agents?name=pg_agent', adminToken);
    assert.deepEqual(wildcard.items, [], '_ is not a wildcard');
    const onlineDocker = await getPage<Agent>(
      '/api/v1/agents?name=pg-agent&status=online&platform=docker',
      adminToken,
    );
    assert.deepEqual(
      onlineDocker.items.map((agent) => agent.name),
      seeded
        .filter((agent) => agent.status === 'online' && agent.platform === 'docker')
        .map((agent) => agent.name),
    );
    for (const query of [
      'status=asleep',
      'platform=vms',
      'status=',
      'name=',
      `name=${'x'.repeat(65)}`,
    ]) {
      const response = await api(cp.baseUrl, 'GET', `/api/v1/agents?${query}`, {
        token: adminToken,
      });
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.code, 'validation_failed');
    }
  });
});
