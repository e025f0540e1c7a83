import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from './support/start-system';
import { ensureTestSessionImage } from '@streamspace/test-kit';
import {
  dockerScopeEnv,
  LifecycleClient,
  removeDockerScope,
  readHomeFile,
  writeHomeFile,
} from './lifecycle-support';

/**
 * Issue 5 acceptance: homes survive hibernate/wake and stop/new session, and deleteHome
 * deletes them, on the Docker and the local agent, through the real control plane.
 */
for (const platform of ['docker', 'local'] as const) {
  describe(`persistent homes on the ${platform} agent`, () => {
    let system: RunningSystem;
    let client: LifecycleClient;
    const scope = dockerScopeEnv();
    const name = `lifecycle-${randomBytes(4).toString('hex')}.txt`;
    // Text with a newline, a NUL-free binary-ish tail and non-ASCII: bytes, not just a word.
    const bytes = `written before hibernation ${randomBytes(16).toString('hex')}\nzweite Zeile ✓ ${Date.now()}\n`;

    before(async () => {
      system = await startSystem({ embeddedAgent: platform, env: scope });
      client = new LifecycleClient(system.baseUrl, await system.login());
      if (platform === 'docker') await client.useImage('terminal', await ensureTestSessionImage());
    });
    after(async () => {
      await system?.close();
      if (platform === 'docker') await removeDockerScope(scope.STREAMSPACE_DOCKER_SCOPE);
    });

    test('a file written in the session is there after hibernate and wake', async () => {
      const created = await client.create('terminal', platform);
      const running = await client.waitForState(created.id, ['running'], 60_000);
      await writeHomeFile(running, name, bytes);

      await client.action(created.id, 'hibernate');
      const hibernated = await client.waitForState(created.id, ['hibernated'], 60_000);
      assert.match(hibernated.stateReason, /home kept/);

      await client.action(created.id, 'wake');
      const woken = await client.waitForState(created.id, ['running'], 60_000);
      assert.equal(await readHomeFile(woken, name), bytes, 'the same bytes after wake');
      const { probe, width, height } = await client.firstFramebuffer(created.id);
      assert.ok(width > 0 && height > 0, 'the woken session streams');
      probe.close();

      const events = await client.events(created.id);
      const moves = events.filter((e) => e.kind === 'transition').map((e) => e.toState);
      assert.deepEqual(moves.slice(-4), ['hibernating', 'hibernated', 'waking', 'running']);

      await client.action(created.id, 'stop');
      const stopped = await client.waitForState(created.id, ['stopped'], 60_000);
      assert.match(stopped.stateReason, /home kept/);
    });

    test('a new session of the same template for the same user finds the file', async () => {
      const second = await client.create('terminal', platform);
      const running = await client.waitForState(second.id, ['running'], 60_000);
      assert.equal(await readHomeFile(running, name), bytes);

      await client.remove(second.id, true);
      const deleted = await client.waitForState(second.id, ['stopped'], 60_000);
      assert.match(deleted.stateReason, /home deleted/);
    });

    test('after deleteHome the next session starts with the file gone', async () => {
      const third = await client.create('terminal', platform);
      const running = await client.waitForState(third.id, ['running'], 60_000);
      assert.equal(await readHomeFile(running, name), undefined);
      await client.remove(third.id, true);
      await client.waitForState(third.id, ['stopped'], 60_000);
    });
  });
}
