import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { DriverError } from '@streamspace/session-driver';
import {
  registerAgent,
  startControlPlane,
  startFakeAgent,
  type ControlPlane,
} from './agent-test-harness';
import { api, createUser } from './test-app';

type Started = ReturnType<typeof startFakeAgent>;

describe('sessions API with a real agent runtime', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  let agent: Started;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database);
    agent = startFakeAgent(cp.url, await registerAgent(cp, { platform: 'local', name: 'local-1' }));
    await waitFor('the agent to be online', async () => {
      const platforms = await api(cp.url, 'GET', '/api/v1/platforms', { token: cp.adminToken });
      return platforms.body.platforms.find((p: any) => p.platform === 'local')?.onlineAgents === 1;
    });
    alice = await createUser(cp.url, cp.adminToken, 'alice');
    bob = await createUser(cp.url, cp.adminToken, 'bob');
  });
  after(async () => {
    await agent.runtime.stop();
    await cp.app.stop();
    await database.drop();
  });

  const stateOf = async (token: string, id: string) =>
    (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token })).body.state;

  it('creates a session that moves pending → starting → running and records why', async () => {
    const created = await api(cp.url, 'POST', '/api/v1/sessions', {
      token: alice.token,
      body: { templateId: 'terminal' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.state, 'starting');
    assert.equal(created.body.platform, 'local');
    assert.equal(created.body.agentName, 'local-1');
    const id = created.body.id as string;
    await waitFor('the session to run', async () => (await stateOf(alice.token, id)) === 'running');
    const session = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: alice.token }))
      .body;
    assert.deepEqual(session.details, { fake: 'true' });
    assert.ok(
      session.hibernateAt !== null,
      'a running session shows when idle hibernation would happen',
    );
    const events = (
      await api(cp.url, 'GET', `/api/v1/sessions/${id}/events`, { token: alice.token })
    ).body.items;
    assert.deepEqual(
      events.map((e: any) => `${e.fromState ?? '∅'}→${e.toState}`),
      ['∅→pending', 'pending→starting', 'starting→running'],
    );
    assert.equal(events[0].actor, 'user:alice');
    assert.equal(events[2].actor, 'agent:local-1');
    assert.equal(agent.driver.count('start', id), 1);
    const [command] = await cp.app.db
      .selectFrom('agentCommands')
      .select(['state', 'payload'])
      .where('sessionId', '=', id)
      .execute();
    assert.equal(command?.state, 'completed');
    assert.equal(
      (command?.payload as any).spec.vncPassword,
      undefined,
      'finished commands keep no VNC password',
    );
    const metrics = await fetch(`${cp.url}/metrics`, {
      headers: { authorization: `Bearer ${cp.adminToken}` },
    }).then((response) => response.text());
    assert.match(metrics, /streamspace_sessions\{state="running"\} [1-9]/);
  });

  it('hibernates, wakes and stops through the agent, refusing illegal moves with 409', async () => {
    const id = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        body: { templateId: 'desktop' },
      })
    ).body.id;
    await waitFor('running', async () => (await stateOf(alice.token, id)) === 'running');
    const wakeRunning = await api(cp.url, 'POST', `/api/v1/sessions/${id}/wake`, {
      token: alice.token,
    });
    assert.equal(wakeRunning.status, 409);
    assert.equal(wakeRunning.body.error.code, 'illegal_transition');
    assert.match(wakeRunning.body.error.message, /cannot wake a session that is running/);

    assert.equal(
      (await api(cp.url, 'POST', `/api/v1/sessions/${id}/hibernate`, { token: alice.token }))
        .status,
      202,
    );
    await waitFor('hibernated', async () => (await stateOf(alice.token, id)) === 'hibernated');
    const hibernated = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: alice.token }))
      .body;
    assert.match(hibernated.stateReason, /hibernation requested by user:alice/);
    assert.equal(hibernated.hibernateAt, null);

    assert.equal(
      (await api(cp.url, 'POST', `/api/v1/sessions/${id}/wake`, { token: alice.token })).status,
      202,
    );
    await waitFor('running again', async () => (await stateOf(alice.token, id)) === 'running');
    assert.equal(agent.driver.count('wake', id), 1);

    assert.equal(
      (await api(cp.url, 'POST', `/api/v1/sessions/${id}/stop`, { token: alice.token })).status,
      202,
    );
    await waitFor('stopped', async () => (await stateOf(alice.token, id)) === 'stopped');
    const again = await api(cp.url, 'POST', `/api/v1/sessions/${id}/stop`, { token: alice.token });
    assert.equal(again.status, 202, 'stopping a stopped session is a no-op');
    const hibernateStopped = await api(cp.url, 'POST', `/api/v1/sessions/${id}/hibernate`, {
      token: alice.token,
    });
    assert.equal(hibernateStopped.status, 409);
  });

  it('shows a session only to its owner and admins', async () => {
    const id = (
      await api(cp.url, 'POST', `/api/v1/sessions`, {
        token: alice.token,
        body: { templateId: 'terminal' },
      })
    ).body.id;
    const asBob = await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token });
    assert.equal(asBob.status, 404);
    assert.equal(asBob.body.error.code, 'not_found');
    assert.equal(
      (await api(cp.url, 'POST', `/api/v1/sessions/${id}/stop`, { token: bob.token })).status,
      404,
    );
    assert.equal(
      (await api(cp.url, 'GET', `/api/v1/sessions/${id}/events`, { token: bob.token })).status,
      404,
    );
    const bobsList = (await api(cp.url, 'GET', '/api/v1/sessions', { token: bob.token })).body
      .items;
    assert.ok(!bobsList.some((s: any) => s.id === id));
    assert.equal(
      (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: cp.adminToken })).status,
      200,
    );
    const all = (await api(cp.url, 'GET', '/api/v1/sessions?scope=all', { token: cp.adminToken }))
      .body.items;
    assert.ok(all.some((s: any) => s.id === id));
    assert.equal(
      (await api(cp.url, 'GET', '/api/v1/sessions?scope=all', { token: bob.token })).status,
      403,
    );
  });

  it('marks a session failed with the driver error as the reason', async () => {
    agent.driver.hold();
    const id = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: bob.token,
        body: { templateId: 'browser' },
      })
    ).body.id;
    agent.driver.failNext(
      'start',
      id,
      new DriverError(
        'image_not_found',
        'image streamspace/desktop-browser:latest is not on this host',
      ),
    );
    agent.driver.release();
    await waitFor('failed', async () => (await stateOf(bob.token, id)) === 'failed');
    const failed = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token })).body;
    assert.match(failed.stateReason, /image_not_found/);
    assert.match(failed.stateReason, /not on this host/);
  });

  it('refuses to launch when no agent of the platform is online, and unknown templates', async () => {
    const docker = await api(cp.url, 'POST', '/api/v1/sessions', {
      token: bob.token,
      body: { templateId: 'terminal', platform: 'docker' },
    });
    assert.equal(docker.status, 409);
    assert.equal(docker.body.error.code, 'no_agent_available');
    assert.match(docker.body.error.message, /docker/);
    const unknown = await api(cp.url, 'POST', '/api/v1/sessions', {
      token: bob.token,
      body: { templateId: 'nope' },
    });
    assert.equal(unknown.status, 404);
    const invalid = await api(cp.url, 'POST', '/api/v1/sessions', {
      token: bob.token,
      body: { templateId: 'terminal', platform: 'mainframe' },
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'validation_failed');
  });

  it('a session whose app exits on its own ends stopped, one that crashes ends failed', async () => {
    const ended = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        body: { templateId: 'terminal' },
      })
    ).body.id;
    const crashed = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        body: { templateId: 'terminal' },
      })
    ).body.id;
    await waitFor(
      'both running',
      async () =>
        (await stateOf(alice.token, ended)) === 'running' &&
        (await stateOf(alice.token, crashed)) === 'running',
    );
    agent.driver.emitChange({
      sessionId: ended,
      status: 'stopped',
      reason: 'xterm exited with code 0',
      details: {},
    });
    agent.driver.emitChange({
      sessionId: crashed,
      status: 'failed',
      reason: 'Xvnc was killed by SIGKILL',
      details: {},
    });
    await waitFor(
      'the ended session to stop',
      async () => (await stateOf(alice.token, ended)) === 'stopped',
    );
    await waitFor(
      'the crashed session to fail',
      async () => (await stateOf(alice.token, crashed)) === 'failed',
    );
    const events = (
      await api(cp.url, 'GET', `/api/v1/sessions/${ended}/events`, { token: alice.token })
    ).body.items;
    assert.match(
      events.find((e: any) => e.toState === 'stopping').reason,
      /ended on its own \(xterm exited with code 0\)/,
    );
    assert.equal(agent.driver.count('stop', ended), 1, 'the agent was asked to clean up');
    const failed = (await api(cp.url, 'GET', `/api/v1/sessions/${crashed}`, { token: alice.token }))
      .body;
    assert.equal(failed.stateReason, 'Xvnc was killed by SIGKILL');
  });

  it('a start that fails after the user asked to stop does not turn the stop into a failure', async () => {
    agent.driver.hold();
    const id = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        body: { templateId: 'terminal' },
      })
    ).body.id;
    await waitFor('the start to reach the driver', () => agent.driver.count('start', id) === 1);
    agent.driver.failNext('start', id, new DriverError('start_timeout', 'Xvnc did not answer'));
    assert.equal(
      (await api(cp.url, 'POST', `/api/v1/sessions/${id}/stop`, { token: alice.token })).status,
      202,
    );
    agent.driver.release();
    await waitFor('stopped', async () => (await stateOf(alice.token, id)) === 'stopped');
    const events = (
      await api(cp.url, 'GET', `/api/v1/sessions/${id}/events`, { token: alice.token })
    ).body.items;
    assert.ok(!events.some((e: any) => e.toState === 'failed'), 'never failed on the way');
  });

  it('deleting an agent settles its sessions, which can then be stopped', async () => {
    const other = startFakeAgent(
      cp.url,
      await registerAgent(cp, { platform: 'docker', name: 'docker-doomed' }),
    );
    try {
      await waitFor('the docker agent online', async () => {
        const platforms = await api(cp.url, 'GET', '/api/v1/platforms', { token: cp.adminToken });
        return (
          platforms.body.platforms.find((p: any) => p.platform === 'docker')?.onlineAgents === 1
        );
      });
      const id = (
        await api(cp.url, 'POST', '/api/v1/sessions', {
          token: bob.token,
          body: { templateId: 'terminal', platform: 'docker' },
        })
      ).body.id;
      await waitFor('running', async () => (await stateOf(bob.token, id)) === 'running');
      const agentId = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token }))
        .body.agentId;
      assert.equal(
        (await api(cp.url, 'DELETE', `/api/v1/agents/${agentId}`, { token: cp.adminToken })).status,
        204,
      );
      const failed = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token }))
        .body;
      assert.equal(failed.state, 'failed');
      assert.match(failed.stateReason, /its agent "docker-doomed" was deleted by admin:admin/);
      assert.equal(
        (await api(cp.url, 'POST', `/api/v1/sessions/${id}/stop`, { token: bob.token })).status,
        202,
      );
      const stopped = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token }))
        .body;
      assert.equal(stopped.state, 'stopped', 'nobody can confirm a stop, so it is stopped at once');
    } finally {
      await other.runtime.stop();
    }
  });

  it("two launches at once cannot both take an agent's last free slot", async () => {
    const small = startFakeAgent(
      cp.url,
      await registerAgent(cp, { platform: 'kubernetes', name: 'k8s-small', maxSessions: 1 }),
      { maxSessions: 1 },
    );
    try {
      await waitFor('the small agent online', async () => {
        const platforms = await api(cp.url, 'GET', '/api/v1/platforms', { token: cp.adminToken });
        return (
          platforms.body.platforms.find((p: any) => p.platform === 'kubernetes')?.freeSlots === 1
        );
      });
      const launch = () =>
        api(cp.url, 'POST', '/api/v1/sessions', {
          token: alice.token,
          body: { templateId: 'terminal', platform: 'kubernetes' },
        });
      const results = await Promise.all([launch(), launch(), launch()]);
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409]);
      const refused = results.find((r) => r.status === 409);
      assert.equal(refused?.body.error.code, 'no_agent_available');
      const placed = results.find((r) => r.status === 201)!.body.id;
      await waitFor('running', async () => (await stateOf(alice.token, placed)) === 'running');
      await api(cp.url, 'DELETE', `/api/v1/sessions/${placed}`, { token: alice.token });
      await waitFor('stopped', async () => (await stateOf(alice.token, placed)) === 'stopped');
    } finally {
      await small.runtime.stop();
    }
  });

  it('a failed session that its agent still runs is stopped on the agent when it reconnects', async () => {
    const identity = await registerAgent(cp, { platform: 'docker', name: 'docker-reconnects' });
    const first = startFakeAgent(cp.url, identity);
    const onDocker = async () => {
      const platforms = await api(cp.url, 'GET', '/api/v1/platforms', { token: cp.adminToken });
      return platforms.body.platforms.find((p: any) => p.platform === 'docker')?.onlineAgents === 1;
    };
    await waitFor('the docker agent online', onDocker);
    const id = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: bob.token,
        body: { templateId: 'terminal', platform: 'docker' },
      })
    ).body.id;
    await waitFor('running', async () => (await stateOf(bob.token, id)) === 'running');
    await first.runtime.stop();
    // Failed while the agent was away (e.g. a command expired): the agent still runs it.
    await cp.app.db
      .updateTable('sessions')
      .set({ state: 'failed', stateReason: 'test: failed while offline' })
      .where('id', '=', id)
      .execute();
    const second = startFakeAgent(cp.url, identity, { driver: first.driver });
    try {
      await waitFor('the agent to be asked to stop it', () => first.driver.count('stop', id) === 1);
      const session = (await api(cp.url, 'GET', `/api/v1/sessions/${id}`, { token: bob.token }))
        .body;
      assert.equal(session.state, 'failed', 'it stays failed, with its reason');
      assert.equal(session.stateReason, 'test: failed while offline');
    } finally {
      await second.runtime.stop();
    }
  });

  it('deletes a session: stops it, hides it, and asks the agent to delete the home only when told', async () => {
    const id = (
      await api(cp.url, 'POST', '/api/v1/sessions', {
        token: alice.token,
        // On local-1: an agent the tests above just stopped may still count as online for a
        // moment, and 'auto' would place the session there (CI saw it never start).
        body: { templateId: 'terminal', platform: 'local' },
      })
    ).body.id;
    await waitFor('running', async () => (await stateOf(alice.token, id)) === 'running');
    const deleted = await api(cp.url, 'DELETE', `/api/v1/sessions/${id}?deleteHome=true`, {
      token: alice.token,
    });
    assert.equal(deleted.status, 202);
    await waitFor('stopped', async () => (await stateOf(alice.token, id)) === 'stopped');
    const list = (await api(cp.url, 'GET', '/api/v1/sessions', { token: alice.token })).body.items;
    assert.ok(!list.some((s: any) => s.id === id), 'deleted sessions leave the list');
    const events = (
      await api(cp.url, 'GET', `/api/v1/sessions/${id}/events`, { token: alice.token })
    ).body.items;
    assert.match(events.at(-1).reason, /home deleted/);
  });
});
