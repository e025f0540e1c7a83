import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { RfbProbe } from './rfb-probe';
import { ensureTestSessionImage } from './session-image';
import { waitFor } from './wait-for';

const run = promisify(execFile);
const TEST_LABEL = 'io.streamspace.test';
const testId = `session-image-${randomBytes(4).toString('hex')}`;
const docker = new Docker();

interface Started {
  container: Docker.Container;
  ip: string;
}

describe('session image', { timeout: 5 * 60_000 }, () => {
  let image: string;
  let network: Docker.Network;
  let networkName: string;
  let secrets: string;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const containers: Docker.Container[] = [];
  const volumes: string[] = [];

  before(async () => {
    image = await ensureTestSessionImage();
    networkName = `streamspace-test-${testId}`;
    network = await docker.createNetwork({
      Name: networkName,
      Driver: 'bridge',
      Labels: { [TEST_LABEL]: testId },
    });
    secrets = await mkdtemp(join(tmpdir(), 'streamspace-image-test-'));
    await writeFile(join(secrets, 'vncpasswd'), `${password}\n`);
    // Readable by the image's uid 1000 through the bind mount.
    await chmod(secrets, 0o755);
    await chmod(join(secrets, 'vncpasswd'), 0o444);
  });

  after(async () => {
    for (const container of containers) await container.remove({ force: true }).catch(() => {});
    for (const volume of volumes)
      await docker
        .getVolume(volume)
        .remove()
        .catch(() => {});
    await network?.remove().catch(() => {});
    if (secrets !== undefined) await rm(secrets, { recursive: true, force: true });
  });

  async function startContainer(
    cmd: string[],
    env: string[],
    hostConfig: Docker.HostConfig = {},
  ): Promise<Started> {
    const container = await docker.createContainer({
      Image: image,
      Cmd: cmd,
      Env: env,
      Labels: { [TEST_LABEL]: testId },
      HostConfig: { NetworkMode: networkName, ...hostConfig },
    });
    containers.push(container);
    await container.start();
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks[networkName]?.IPAddress ?? '';
    return { container, ip };
  }

  async function connectRfb(ip: string, pass: string): Promise<RfbProbe> {
    return waitFor(
      'the container to answer RFB',
      async () => {
        const socket = connect({ host: ip, port: 5900 });
        return RfbProbe.connect(socket, { password: pass, timeoutMs: 5_000 }).catch((error) => {
          if (error.code === 'auth_failed') return Promise.reject(error);
          return undefined;
        });
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  async function logsOf(container: Docker.Container): Promise<string> {
    const raw = await container.logs({ stdout: true, stderr: true, follow: false });
    return raw.toString('latin1');
  }

  it('concurrent test processes get the same image, labelled with its recipe hash', async () => {
    const script =
      "import { ensureTestSessionImage } from './packages/test-kit/src/session-image.ts';" +
      'console.log(await ensureTestSessionImage());';
    const both = await Promise.all(
      [0, 1].map(() =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: new URL('../../../', import.meta.url),
        }),
      ),
    );
    const refs = both.map((result) => result.stdout.trim().split('\n').pop());
    assert.deepEqual(refs, [image, image]);
    const info = await docker.getImage(image).inspect();
    assert.equal(info.Config.Labels?.['io.streamspace.recipe-hash'], image.split(':r-')[1]);
    assert.equal(info.Config.User, '1000');
  });

  it('says clearly when no Docker engine answers', async () => {
    const unreachable = new Docker({ socketPath: '/nonexistent/docker.sock' });
    await assert.rejects(ensureTestSessionImage({ docker: unreachable }), {
      name: 'SessionImageError',
      code: 'docker_unreachable',
      message:
        /Docker engine is not reachable \(unix:\/\/\/nonexistent\/docker.sock\).*ensure-dockerd/,
    });
  });

  it('serves RFB on 5900 with the password file, geometry from the environment, read-only root', async () => {
    const volume = `streamspace-test-home-${testId}`;
    await docker.createVolume({ Name: volume, Labels: { [TEST_LABEL]: testId } });
    volumes.push(volume);
    const { ip } = await startContainer([], ['STREAMSPACE_GEOMETRY=1024x640'], {
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,size=64m' },
      Binds: [`${secrets}:/run/streamspace:ro`, `${volume}:/home/user`],
    });
    await assert.rejects(
      RfbProbe.connect(await waitForPort(ip), { password: 'not-the-password', timeoutMs: 5_000 }),
      { code: 'auth_failed' },
    );
    const probe = await connectRfb(ip, password);
    try {
      assert.equal(probe.width, 1024);
      assert.equal(probe.height, 640);
    } finally {
      probe.close();
    }
  });

  it('SIGTERM gives the app its grace period, so a file written on the way out survives', async () => {
    const volume = `streamspace-test-home2-${testId}`;
    await docker.createVolume({ Name: volume, Labels: { [TEST_LABEL]: testId } });
    volumes.push(volume);
    const app = [
      'sh',
      '-c',
      'trap "sleep 1; echo flushed > $HOME/on-term.txt; exit 0" TERM; touch $HOME/trap-set; ' +
        'while :; do sleep 0.1; done',
    ];
    const { container, ip } = await startContainer(app, [`STREAMSPACE_VNC_PASSWORD=${password}`], {
      Binds: [`${volume}:/home/user`],
    });
    (await connectRfb(ip, password)).close();
    // The entrypoint starts the app once Xvnc answers: a SIGTERM before the app set its trap
    // (and before the entrypoint set its own) would end it without the grace period.
    // (getArchive, drained: dockerode's infoArchive leaves a handle that keeps the process up.)
    await waitFor('the app to set its SIGTERM trap', () =>
      container.getArchive({ path: '/home/user/trap-set' }).then(
        (archive) => {
          archive.resume();
          return true;
        },
        () => false,
      ),
    );
    await container.stop({ t: 10 });
    const state = (await container.inspect()).State;
    assert.equal(state.ExitCode, 0, await logsOf(container));
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--label',
      `${TEST_LABEL}=${testId}`,
      '--network',
      'none',
      '-v',
      `${volume}:/home/user`,
      '--entrypoint',
      'cat',
      image,
      '/home/user/on-term.txt',
    ]);
    assert.equal(stdout, 'flushed\n');
  });

  it('refuses to run without a password, and fails fast on a missing app', async () => {
    const noPassword = await startContainer([], []);
    const exited = await noPassword.container.wait();
    assert.equal(exited.StatusCode, 64);
    assert.match(await logsOf(noPassword.container), /no VNC password/);

    const noApp = await startContainer(['no-such-app'], [`STREAMSPACE_VNC_PASSWORD=${password}`]);
    assert.equal((await noApp.container.wait()).StatusCode, 127);
    assert.match(await logsOf(noApp.container), /app not found: no-such-app/);
  });
});

/** A connected socket once the port accepts (the banner is read by the probe). */
function waitForPort(ip: string) {
  return waitFor(
    `${ip}:5900 to accept`,
    () =>
      new Promise<ReturnType<typeof connect> | undefined>((resolve) => {
        const socket = connect({ host: ip, port: 5900 });
        socket.once('connect', () => resolve(socket));
        socket.once('error', () => resolve(undefined));
      }),
    { timeoutMs: 20_000, intervalMs: 50 },
  );
}
