import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { OrphanSession } from '@streamspace/protocol';
import { startSystem, type RunningSystem } from './support/start-system';
import { ensureTestSessionImage, waitFor } from '@streamspace/test-kit';
import {
  dockerScopeEnv,
  LifecycleClient,
  removeDockerScope,
  readHomeFile,
  writeHomeFile,
} from './lifecycle-support';

// The bound the "within a heartbeat interval" tests hold the control plane to (its default is
// 10 s). Detection takes about 1.5 s at worst on a busy CI machine; 3 s was too close to that.
const HEARTBEAT_INTERVAL_MS = 5_000;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/**
 * Issue 5 acceptance, recovery: a control plane killed mid-hibernation, a container removed
 * behind the agent's back, and a container started by hand with the session labels.
 */
describe('lifecycle recovery on the docker agent', () => {
  let system: RunningSystem;
  let client: LifecycleClient;
  const handStarted: string[] = [];
  const scope = dockerScopeEnv();

  before(async () => {
    system = await startSystem({
      embeddedAgent: 'docker',
      env: {
        ...scope,
        STREAMSPACE_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
        STREAMSPACE_HEARTBEAT_TIMEOUT_MS: String(3 * HEARTBEAT_INTERVAL_MS),
        STREAMSPACE_SCHEDULER_INTERVAL_SECONDS: '1',
        // 1.2 s: long enough to see the orphan reported before it is removed.
        STREAMSPACE_ORPHAN_GRACE_MINUTES: '0.02',
        STREAMSPACE_ORPHAN_POLICY: 'remove',
      },
    });
    client = new LifecycleClient(system.baseUrl, await system.login());
    await client.useImage('terminal', await ensureTestSessionImage());
  });
  after(async () => {
    for (const id of handStarted)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => {});
    await system?.close();
    await removeDockerScope(scope.STREAMSPACE_DOCKER_SCOPE);
  });

  test('a control plane killed while a session hibernates comes back with it hibernated and its home intact', async () => {
    const created = await client.create('terminal', 'docker');
    const running = await client.waitForState(created.id, ['running'], 60_000);
    const bytes = `before the crash ${randomBytes(8).toString('hex')}\n`;
    await writeHomeFile(running, 'crash.txt', bytes);

    await client.action(created.id, 'hibernate');
    await system.controlPlane.kill(); // SIGKILL: no graceful anything
    await system.restart();
    const hibernated = await client.waitForState(created.id, ['hibernated'], 60_000);
    assert.match(hibernated.stateReason, /home kept/);

    await client.action(created.id, 'wake');
    const woken = await client.waitForState(created.id, ['running'], 60_000);
    assert.equal(await readHomeFile(woken, 'crash.txt'), bytes);
    await client.remove(created.id, true);
    await client.waitForState(created.id, ['stopped'], 60_000);
  });

  test('a container removed behind the agent becomes failed with a reason within a heartbeat interval', async () => {
    const created = await client.create('terminal', 'docker');
    const running = await client.waitForState(created.id, ['running'], 60_000);
    const removedAt = Date.now();
    await docker.getContainer(running.details.containerId!).remove({ force: true });
    const failed = await client.waitForState(created.id, ['failed'], HEARTBEAT_INTERVAL_MS, 20);
    assert.ok(Date.now() - removedAt <= HEARTBEAT_INTERVAL_MS);
    assert.match(failed.stateReason, /removed outside StreamSpace|exited|no longer/);
    await client.action(created.id, 'stop');
  });

  test('a container started by hand with session labels is reported as an orphan and removed', async () => {
    const template = await client.create('terminal', 'docker');
    const running = await client.waitForState(template.id, ['running'], 60_000);
    const info = await docker.getContainer(running.details.containerId!).inspect();
    const orphanId = randomUUID();
    const labels = { ...info.Config.Labels, 'io.streamspace.session-id': orphanId };
    const container = await docker.createContainer({
      name: `streamspace-lifecycle-orphan-${orphanId.slice(0, 8)}`,
      Image: info.Config.Image,
      // Something that keeps running without the session's password file: a leaked workload.
      Entrypoint: ['sleep', 'infinity'],
      Labels: labels,
      HostConfig: { NetworkMode: info.HostConfig.NetworkMode ?? 'bridge' },
    });
    handStarted.push(container.id);
    await container.start();

    // The agent reports its inventory in its hello: reconnect it by restarting.
    await system.restart();
    const orphan = await waitFor(
      'the orphan to be reported',
      async () =>
        (await client.request<{ items: OrphanSession[] }>('GET', '/api/v1/orphans')).items.find(
          (o) => o.sessionId === orphanId,
        ),
      { timeoutMs: 30_000 },
    );
    assert.equal(orphan.knownAs, 'unknown');
    assert.equal(orphan.observedStatus, 'running');

    await waitFor(
      'the orphan to be removed',
      async () => {
        const listed = (
          await client.request<{ items: OrphanSession[] }>('GET', '/api/v1/orphans')
        ).items.find((o) => o.sessionId === orphanId);
        return listed?.status === 'removed' ? listed : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const gone = await docker
      .getContainer(container.id)
      .inspect()
      .then(
        () => false,
        () => true,
      );
    assert.ok(gone, 'the hand-started container was removed');
    await client.remove(template.id, true);
  });
});

describe('lifecycle recovery on the local agent', () => {
  let system: RunningSystem;
  let client: LifecycleClient;

  before(async () => {
    system = await startSystem({
      embeddedAgent: 'local',
      env: {
        STREAMSPACE_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
        STREAMSPACE_HEARTBEAT_TIMEOUT_MS: String(3 * HEARTBEAT_INTERVAL_MS),
      },
    });
    client = new LifecycleClient(system.baseUrl, await system.login());
  });
  after(async () => {
    await system?.close();
  });

  test('a control plane killed while a session hibernates comes back with it hibernated and its home intact', async () => {
    const created = await client.create('terminal', 'local');
    const running = await client.waitForState(created.id, ['running'], 60_000);
    const bytes = `before the crash ${randomBytes(8).toString('hex')}\n`;
    await writeHomeFile(running, 'crash.txt', bytes);

    await client.action(created.id, 'hibernate');
    await system.controlPlane.kill();
    await system.restart();
    const hibernated = await client.waitForState(created.id, ['hibernated'], 60_000);
    assert.match(hibernated.stateReason, /home kept/);

    await client.action(created.id, 'wake');
    const woken = await client.waitForState(created.id, ['running'], 60_000);
    assert.equal(await readHomeFile(woken, 'crash.txt'), bytes);
    await client.remove(created.id, true);
    await client.waitForState(created.id, ['stopped'], 60_000);
  });

  test('an Xvnc killed behind the agent becomes failed with a reason within a heartbeat interval', async () => {
    const created = await client.create('terminal', 'local');
    const running = await client.waitForState(created.id, ['running'], 60_000);
    const killedAt = Date.now();
    process.kill(Number(running.details.pid), 'SIGKILL');
    const failed = await client.waitForState(created.id, ['failed'], HEARTBEAT_INTERVAL_MS, 20);
    assert.ok(Date.now() - killedAt <= HEARTBEAT_INTERVAL_MS);
    assert.notEqual(failed.stateReason, '');
    await client.action(created.id, 'stop');
  });
});
