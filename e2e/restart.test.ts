import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LifecycleClient } from './lifecycle-support';
import { startSystem, type RunningSystem } from './support/start-system';

describe('the control plane on its embedded PostgreSQL keeps everything across restarts', () => {
  let system: RunningSystem;
  before(async () => {
    system = await startSystem({
      embeddedPostgres: true,
      embeddedAgent: 'local',
      ownProcessGroup: true,
    });
  });
  after(() => system?.close());

  test('users, agents, sessions and queued commands survive a stop and a crash', async () => {
    const admin = new LifecycleClient(system.baseUrl, await system.login());
    await admin.request('POST', '/api/v1/users', {
      username: 'carol',
      password: 'carol-password',
      role: 'user',
    });
    const agentsBefore = await admin.request<{ items: { id: string; name: string }[] }>(
      'GET',
      '/api/v1/agents',
    );
    assert.equal(agentsBefore.items.length, 1, 'the built-in agent enrolled');
    const session = await admin.create('terminal', 'local');
    await admin.waitForState(session.id, ['running'], 60_000);
    // Queue a command while the control plane cannot send it: stop the agent's session is
    // asked for, then the control plane crashes before the outcome can be recorded.
    await admin.action(session.id, 'hibernate');

    await system.controlPlane.kill();
    await system.restart();

    const carol = new LifecycleClient(
      system.baseUrl,
      await system.login('carol', 'carol-password'),
    );
    assert.deepEqual(
      (await carol.request<{ items: unknown[] }>('GET', '/api/v1/sessions')).items,
      [],
    );
    const again = new LifecycleClient(system.baseUrl, await system.login());
    const agentsAfter = await again.request<{ items: { id: string; name: string }[] }>(
      'GET',
      '/api/v1/agents',
    );
    assert.deepEqual(
      agentsAfter.items.map((a) => a.id),
      agentsBefore.items.map((a) => a.id),
      'the built-in agent kept its identity',
    );
    const hibernated = await again.waitForState(session.id, ['hibernated'], 60_000);
    assert.match(hibernated.stateReason, /home kept/);
    const events = await again.events(session.id);
    assert.deepEqual(
      events.filter((e) => e.kind === 'transition').map((e) => e.toState),
      ['pending', 'starting', 'running', 'hibernating', 'hibernated'],
    );
    await again.action(session.id, 'wake');
    await again.waitForState(session.id, ['running'], 60_000);

    await system.restart(); // a graceful stop (SIGTERM) this time
    const third = new LifecycleClient(system.baseUrl, await system.login());
    const running = await third.waitForState(session.id, ['running'], 30_000);
    assert.equal(running.stateReason, 'woken from hibernation');
    await third.remove(session.id, true);
    await third.waitForState(session.id, ['stopped'], 60_000);
  });

  test('Ctrl-C stops it cleanly: PostgreSQL outlives the drain and then stops too', async () => {
    // A terminal's Ctrl-C signals the whole foreground process group. The embedded PostgreSQL
    // must not hear it: it has to keep serving while the control plane drains its agents,
    // releases its lease and marks agents offline, and stop only when told to.
    const controlPlane = system.controlPlane;
    await controlPlane.interruptGroup();
    const output = controlPlane.output();
    const shutdown = output.slice(output.lastIndexOf('"msg":"shutting down"'));
    assert.match(shutdown, /"msg":"control plane stopped"/, 'the graceful stop ran to the end');
    const complaints = shutdown
      .split('\n')
      .filter((line) => /"level":(40|50|60)/.test(line))
      .map((line) => line.slice(0, 300));
    assert.deepEqual(complaints, [], 'no warning or error while shutting down');
    assert.equal(controlPlane.exitCode(), 0);
    assert.equal(
      existsSync(join(system.dataDir, 'postgres', 'postmaster.pid')),
      false,
      'PostgreSQL stopped with it',
    );
  });
});
