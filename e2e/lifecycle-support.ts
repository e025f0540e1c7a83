import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { WebSocket } from 'ws';
import type { ConnectResponse, Session, SessionEvent, SessionState } from '@streamspace/protocol';
import { openViewerSocket, RfbProbe, waitFor } from '@streamspace/test-kit';

/** A viewer through /vnc, handshaken through ServerInit. */
export interface Viewer {
  probe: RfbProbe;
  ws: WebSocket;
  /** Settles when the viewer's WebSocket closes, with its code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Full framebuffer updates until the desktop has drawn (a window manager and a terminal
 * take a moment after the VNC server answers), checked the way a person would: the right
 * size and not one flat colour.
 */
export async function assertDesktopPixels(viewer: Viewer): Promise<void> {
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

/** Up to three distinct 32-bit pixels, sampled every 97th pixel. */
function distinctColours(pixels: Buffer): number {
  const colours = new Set<number>();
  for (let offset = 0; offset < pixels.length && colours.size < 3; offset += 4 * 97) {
    colours.add(pixels.readUInt32BE(offset));
  }
  return colours.size;
}

/** REST client for the lifecycle end-to-end tests and bench/first-pixel.ts. */
export class LifecycleClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Point a template at the session image tests build without a registry
   * (ensureTestSessionImage), so the Docker agent never tries to pull.
   */
  async useImage(templateId: string, image: string): Promise<void> {
    await this.request('PATCH', `/api/v1/templates/${templateId}`, { image });
  }

  create(templateId: string, platform: 'docker' | 'local'): Promise<Session> {
    return this.request('POST', '/api/v1/sessions', { templateId, platform });
  }

  get(id: string): Promise<Session> {
    return this.request('GET', `/api/v1/sessions/${id}`);
  }

  async events(id: string): Promise<SessionEvent[]> {
    return (await this.request<{ items: SessionEvent[] }>('GET', `/api/v1/sessions/${id}/events`))
      .items;
  }

  action(id: string, verb: 'stop' | 'hibernate' | 'wake' | 'keepalive'): Promise<Session> {
    return this.request('POST', `/api/v1/sessions/${id}/${verb}`);
  }

  remove(id: string, deleteHome: boolean): Promise<Session> {
    return this.request('DELETE', `/api/v1/sessions/${id}?deleteHome=${deleteHome}`);
  }

  /**
   * Test clean-up: delete the session with its home and wait (up to 30 s) until it has
   * stopped, so no Xvnc or container outlives the test. Never throws.
   */
  async removeAndWaitStopped(id: string): Promise<void> {
    await this.remove(id, true).catch(() => {});
    await this.waitForState(id, ['stopped'], 30_000).catch(() => {});
  }

  /** Wait for one of `states`; fails early (with the reason) on an unexpected `failed`. */
  async waitForState(
    id: string,
    states: SessionState[],
    timeoutMs = 30_000,
    intervalMs = 50,
  ): Promise<Session> {
    return waitFor(
      `session ${id} to be ${states.join(' or ')}`,
      async () => {
        const session = await this.get(id);
        if (states.includes(session.state)) return session;
        if (session.state === 'failed' && !states.includes('failed')) {
          throw new Error(`session failed: ${session.stateReason}`);
        }
        return undefined;
      },
      { timeoutMs, intervalMs },
    );
  }

  /**
   * Open /vnc through the control plane as a viewer and complete the RFB handshake with the
   * session's password (pixel format set to 32 bpp). The WebSocket's stream listens from the
   * start (openViewerSocket): a greeting that comes with the 101 answer is not lost.
   */
  async openViewer(id: string): Promise<Viewer> {
    const connect = await this.request<ConnectResponse>('POST', `/api/v1/sessions/${id}/connect`);
    const { ws, stream, closed } = await openViewerSocket(
      `${this.baseUrl.replace(/^http/, 'ws')}${connect.url}`,
      { origin: this.baseUrl, perMessageDeflate: false },
    );
    const probe = await RfbProbe.connect(stream, {
      ...(connect.vncPassword !== null ? { password: connect.vncPassword } : {}),
    }).catch((error: unknown) => {
      throw new Error(`viewer of ${id}: the RFB handshake through /vnc failed: ${error}`, {
        cause: error,
      });
    });
    probe.setPixelFormat();
    return { probe, ws, closed };
  }

  /**
   * A viewer's first full framebuffer update: resolves when the pixels are in (what a
   * browser would paint).
   */
  async firstFramebuffer(id: string): Promise<{ probe: RfbProbe; width: number; height: number }> {
    const { probe } = await this.openViewer(id);
    probe.requestUpdate(false);
    await probe.readUpdate();
    return { probe, width: probe.width, height: probe.height };
  }
}

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/**
 * A Docker scope of its own for one test system (STREAMSPACE_DOCKER_SCOPE): systems of other
 * test files on the same engine then never see its sessions, nor it theirs (which its orphan
 * policy would otherwise remove).
 */
export function dockerScopeEnv(): { STREAMSPACE_DOCKER_SCOPE: string } {
  return { STREAMSPACE_DOCKER_SCOPE: `e2e-lifecycle-${randomBytes(4).toString('hex')}` };
}

/** Remove every container and volume left with this scope (homes kept by design, say). */
export async function removeDockerScope(scope: string): Promise<void> {
  const filters = { label: [`io.streamspace.scope=${scope}`] };
  for (const container of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => {});
  }
}

/** Run a shell command inside a Docker session's container (through the engine the driver uses). */
export async function dockerExec(containerId: string, script: string): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: ['sh', '-c', script],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({});
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, out, out);
  await new Promise((resolve) => stream.on('end', resolve));
  const { ExitCode } = await exec.inspect();
  const text = Buffer.concat(chunks).toString('utf8');
  if (ExitCode !== 0) throw new Error(`exec exited ${ExitCode}: ${text}`);
  return text;
}

/**
 * The home directory of a local-agent session: the HOME of the processes the driver runs on
 * the session's display (its window manager and app; Xvnc itself keeps the agent's HOME).
 */
export async function localSessionHome(session: Session): Promise<string> {
  const display = session.details.display;
  if (display === undefined || display === '')
    throw new Error('the local session reports no display');
  const homes = new Set<string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`).then(
      (raw) => raw.toString('utf8').split('\0'),
      () => [] as string[],
    );
    if (!environ.includes(`DISPLAY=${display}`)) continue;
    const home = environ.find((variable) => variable.startsWith('HOME='))?.slice(5);
    if (home !== undefined && home !== process.env.HOME) homes.add(home);
  }
  if (homes.size !== 1) {
    throw new Error(
      `expected one session HOME on display ${display}, found [${[...homes].join(', ')}]`,
    );
  }
  return [...homes][0]!;
}

/** Write a file into the running session's home, through the platform the session runs on. */
export async function writeHomeFile(session: Session, name: string, bytes: string): Promise<void> {
  if (session.platform === 'docker') {
    const id = session.details.containerId;
    if (id === undefined) throw new Error('the docker session reports no containerId');
    // base64 keeps arbitrary bytes intact through the shell.
    const b64 = Buffer.from(bytes).toString('base64');
    await dockerExec(id, `echo ${b64} | base64 -d > /home/user/${name} && sync`);
    return;
  }
  await writeFile(join(await localSessionHome(session), name), bytes);
}

/** Read a file from the running session's home, or undefined when it does not exist. */
export async function readHomeFile(session: Session, name: string): Promise<string | undefined> {
  if (session.platform === 'docker') {
    const id = session.details.containerId;
    if (id === undefined) throw new Error('the docker session reports no containerId');
    const out = await dockerExec(
      id,
      `if [ -f /home/user/${name} ]; then base64 /home/user/${name}; else echo MISSING; fi`,
    );
    return out.trim() === 'MISSING' ? undefined : Buffer.from(out.trim(), 'base64').toString();
  }
  try {
    return (await readFile(join(await localSessionHome(session), name))).toString();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
