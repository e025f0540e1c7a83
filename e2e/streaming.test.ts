import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { WebSocket } from 'ws';
import { CloseCode, type ConnectResponse } from '@streamspace/protocol';
import { ensureTestSessionImage, openViewerSocket, RfbProbe, waitFor } from '@streamspace/test-kit';
import { LifecycleClient } from './lifecycle-support';
import { startAgentProcess, type AgentProcess } from './support/start-agent';
import { startSystem, type RunningSystem } from './support/start-system';

interface Viewer {
  probe: RfbProbe;
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * A viewer through the control plane, handshaken through ServerInit. The WebSocket's stream
 * listens from the start (openViewerSocket): a greeting that comes with the 101 answer is
 * not lost.
 */
async function openViewer(client: LifecycleClient, sessionId: string): Promise<Viewer> {
  const connect = await client.request<ConnectResponse>(
    'POST',
    `/api/v1/sessions/${sessionId}/connect`,
  );
  assert.ok(connect.vncPassword, 'sessions have a VNC password');
  const { ws, stream, closed } = await openViewerSocket(
    `${client.baseUrl.replace(/^http/, 'ws')}${connect.url}`,
    { origin: client.baseUrl },
  );
  const probe = await RfbProbe.connect(stream, { password: connect.vncPassword }).catch(
    (error: unknown) => {
      throw new Error(`viewer of ${sessionId}: the RFB handshake through /vnc failed: ${error}`, {
        cause: error,
      });
    },
  );
  probe.setPixelFormat();
  return { probe, ws, closed };
}

function distinctColours(pixels: Buffer): number {
  const colours = new Set<number>();
  for (let offset = 0; offset < pixels.length && colours.size < 3; offset += 4 * 97) {
    colours.add(pixels.readUInt32BE(offset));
  }
  return colours.size;
}

/**
 * Full framebuffer updates until the desktop has drawn (a window manager and a terminal
 * take a moment after the VNC server answers), checked the way a person would: the right
 * size and not one flat colour.
 */
async function assertDesktopPixels(viewer: Viewer): Promise<void> {
  await waitFor(
    'the desktop to draw something besides the background',
    async () => {
      viewer.probe.requestUpdate(false);
      await viewer.probe.readUpdate();
      return distinctColours(viewer.probe.framebuffer) >= 2;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  assert.equal(viewer.probe.width, 1280);
  assert.equal(viewer.probe.height, 800);
  assert.equal(viewer.probe.framebuffer.length, 1280 * 800 * 4);
}

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

for (const platform of ['local', 'docker'] as const) {
  describe(`streaming a ${platform} desktop through the control plane`, () => {
    let system: RunningSystem;
    let agent: AgentProcess;
    let client: LifecycleClient;
    let sessionId: string;

    before(async () => {
      system = await startSystem({ embeddedAgent: 'none' });
      agent = await startAgentProcess(system, platform);
      client = new LifecycleClient(system.baseUrl, await system.login());
      if (platform === 'docker') await client.useImage('terminal', await ensureTestSessionImage());
      sessionId = (await client.create('terminal', platform)).id;
      await client.waitForState(sessionId, ['running'], 60_000);
    });
    after(async () => {
      await client?.remove(sessionId, true).catch(() => {});
      await waitFor(
        'the session to stop',
        async () => (await client.get(sessionId)).state === 'stopped',
        {
          timeoutMs: 30_000,
        },
      ).catch(() => {});
      await agent?.close();
      await system?.close();
    });

    test('a viewer authenticates with the session password and receives real pixels', async () => {
      const viewer = await openViewer(client, sessionId);
      await assertDesktopPixels(viewer);
      viewer.probe.close();
    });

    test('two viewers both receive updates; closing one leaves the other; a new one works', async () => {
      const first = await openViewer(client, sessionId);
      const second = await openViewer(client, sessionId);
      await assertDesktopPixels(first);
      await assertDesktopPixels(second);
      await waitFor(
        'both viewers to be counted',
        async () => (await client.get(sessionId)).viewerCount >= 2,
      );
      first.probe.close();
      await first.closed;
      await assertDesktopPixels(second);
      const third = await openViewer(client, sessionId);
      await assertDesktopPixels(third);
      second.probe.close();
      third.probe.close();
    });

    test('hibernating closes the viewer with 4011 and the state; after wake a viewer works', async () => {
      const viewer = await openViewer(client, sessionId);
      await assertDesktopPixels(viewer);
      await client.action(sessionId, 'hibernate');
      const closed = await viewer.closed;
      assert.equal(closed.code, CloseCode.sessionNotRunning);
      assert.match(closed.reason, /hibernat/);
      await client.waitForState(sessionId, ['hibernated'], 60_000);
      await client.action(sessionId, 'wake');
      await client.waitForState(sessionId, ['running'], 60_000);
      const again = await openViewer(client, sessionId);
      await assertDesktopPixels(again);
      again.probe.close();
    });

    test('killing the agent closes the viewer with a reason; after it reconnects the session still runs', async () => {
      const viewer = await openViewer(client, sessionId);
      await assertDesktopPixels(viewer);
      await agent.process.kill();
      const closed = await viewer.closed;
      assert.equal(closed.code, CloseCode.agentOffline);
      assert.match(closed.reason, /agent/i);
      await agent.restart();
      const session = await client.get(sessionId);
      assert.equal(
        session.state,
        'running',
        `still running after the agent came back (${session.stateReason})`,
      );
      const again = await openViewer(client, sessionId);
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
