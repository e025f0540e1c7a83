import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { CloseCode } from '@streamspace/protocol';
import { ensureTestSessionImage, waitFor } from '@streamspace/test-kit';
import { assertDesktopPixels, LifecycleClient } from './lifecycle-support';
import { startAgent, type RunningAgent } from './support/start-agent';
import { startSystem, type RunningSystem } from './support/start-system';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

for (const platform of ['local', 'docker'] as const) {
  describe(`streaming a ${platform} desktop through the control plane`, () => {
    let system: RunningSystem;
    let agent: RunningAgent;
    let client: LifecycleClient;
    let sessionId: string;

    before(async () => {
      system = await startSystem({ embeddedAgent: 'none' });
      const adminToken = await system.login();
      agent = await startAgent(system.baseUrl, adminToken, platform, `e2e-${platform}`);
      client = new LifecycleClient(system.baseUrl, adminToken);
      if (platform === 'docker') await client.useImage('terminal', await ensureTestSessionImage());
      sessionId = (await client.create('terminal', platform)).id;
      await client.waitForState(sessionId, ['running'], 60_000);
    });
    after(async () => {
      await client?.removeAndWaitStopped(sessionId);
      await agent?.stop();
      await system?.close();
    });

    test('a viewer authenticates with the session password and receives real pixels', async () => {
      const viewer = await client.openViewer(sessionId);
      await assertDesktopPixels(viewer);
      viewer.probe.close();
    });

    test('two viewers both receive updates; closing one leaves the other; a new one works', async () => {
      const first = await client.openViewer(sessionId);
      const second = await client.openViewer(sessionId);
      await assertDesktopPixels(first);
      await assertDesktopPixels(second);
      await waitFor(
        'both viewers to be counted',
        async () => (await client.get(sessionId)).viewerCount >= 2,
      );
      first.probe.close();
      await first.closed;
      await assertDesktopPixels(second);
      const third = await client.openViewer(sessionId);
      await assertDesktopPixels(third);
      second.probe.close();
      third.probe.close();
    });

    test('hibernating closes the viewer with 4011 and the state; after wake a viewer works', async () => {
      const viewer = await client.openViewer(sessionId);
      await assertDesktopPixels(viewer);
      await client.action(sessionId, 'hibernate');
      const closed = await viewer.closed;
      assert.equal(closed.code, CloseCode.sessionNotRunning);
      assert.match(closed.reason, /hibernat/);
      await client.waitForState(sessionId, ['hibernated'], 60_000);
      await client.action(sessionId, 'wake');
      await client.waitForState(sessionId, ['running'], 60_000);
      const again = await client.openViewer(sessionId);
      await assertDesktopPixels(again);
      again.probe.close();
    });

    test('killing the agent closes the viewer with a reason; after it reconnects the session still runs', async () => {
      const viewer = await client.openViewer(sessionId);
      await assertDesktopPixels(viewer);
      await agent.crash();
      const closed = await viewer.closed;
      assert.equal(closed.code, CloseCode.agentOffline);
      assert.match(closed.reason, /agent/i);
      await agent.resume();
      const session = await client.get(sessionId);
      assert.equal(
        session.state,
        'running',
        `still running after the agent came back (${session.stateReason})`,
      );
      const again = await client.openViewer(sessionId);
      await assertDesktopPixels(again);
      again.probe.close();
    });

    test('killing the session behind the agent marks it failed with a reason', async () => {
      const victim = (await client.create('terminal', platform)).id;
      const running = await client.waitForState(victim, ['running'], 60_000);
      if (platform === 'docker') {
        const containerId = running.details.containerId;
        assert.ok(containerId, 'docker sessions report their container');
        await docker.getContainer(containerId).kill();
      } else {
        const pid = Number(running.details.pid);
        assert.ok(pid > 0, 'local sessions report their Xvnc pid');
        process.kill(pid, 'SIGKILL');
      }
      const failed = await client.waitForState(victim, ['failed'], 30_000);
      assert.ok(failed.stateReason.length > 10, `a reason is given: "${failed.stateReason}"`);
      assert.match(
        failed.stateReason,
        platform === 'docker' ? /exit|kill|die|137/i : /Xvnc|exit|signal/i,
      );
      await client.remove(victim, true);
    });
  });
}
