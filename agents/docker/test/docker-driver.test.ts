import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { SessionObservation, SessionSpec } from '@streamspace/protocol';
import { isDriverError } from '@streamspace/session-driver';
import { RfbProbe, waitFor } from '@streamspace/test-kit';
import {
  containerName,
  hibernationVolumeName,
  homeVolumeName,
  LABEL_HOME,
  LABEL_MANAGED,
  LABEL_SCOPE,
  LABEL_SESSION_ID,
  LABEL_TEMPLATE_ID,
  LABEL_USER_ID,
} from '../src/docker-labels';
import { createDockerDriver } from '../src/docker-driver';
import { firstFileOf } from '../src/tar-archive';
import { createDockerTestEnv, type DockerTestEnv } from './docker-test-env';

const MIB = 1024 * 1024;
const run = promisify(execFile);

describe('docker driver', { timeout: 10 * 60_000 }, () => {
  let env: DockerTestEnv;

  before(async () => {
    env = await createDockerTestEnv();
  });

  after(async () => {
    await env?.cleanup();
  });

  async function connect(sessionId: string, password: string): Promise<RfbProbe> {
    const stream = await env.driver.openStream(sessionId, 5900);
    return RfbProbe.connect(stream, { password, timeoutMs: 10_000 });
  }

  it('creates the container the spec asks for: limits, labels, private network, home volume, no password in sight', async () => {
    const spec = env.makeSpec({
      resources: { cpuMillis: 750, memoryMb: 384 },
      geometry: { width: 1024, height: 640 },
      env: { APP_MODE: 'test' },
    });
    const { observation } = await env.driver.start(spec);
    assert.equal(observation.status, 'running');

    const container = env.docker.getContainer(containerName(spec.sessionId));
    const info = await container.inspect();
    assert.equal(info.HostConfig.NanoCpus, 750_000_000);
    assert.equal(info.HostConfig.Memory, 384 * MIB);
    assert.equal(info.HostConfig.NetworkMode, env.network);
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [env.network]);
    assert.equal(observation.endpoint?.host, info.NetworkSettings.Networks[env.network]?.IPAddress);
    assert.equal(observation.endpoint?.port, 5900);
    // Nothing published on the host: no bindings for any port.
    const bindings = Object.values(info.NetworkSettings.Ports ?? {}).filter((b) => b !== null);
    assert.deepEqual(bindings, []);
    assert.equal(info.HostConfig.PublishAllPorts, false);
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);

    const labels = info.Config.Labels ?? {};
    assert.equal(labels[LABEL_MANAGED], 'true');
    assert.equal(labels[LABEL_SESSION_ID], spec.sessionId);
    assert.equal(labels[LABEL_USER_ID], spec.userId);
    assert.equal(labels[LABEL_TEMPLATE_ID], spec.templateId);
    assert.equal(labels[LABEL_HOME], spec.homeKey);

    const mount = info.Mounts.find((m) => m.Destination === '/home/user');
    assert.equal(mount?.Type, 'volume');
    assert.equal(mount?.Name, homeVolumeName(spec.homeKey));
    const volume = await env.docker.getVolume(homeVolumeName(spec.homeKey)).inspect();
    assert.equal(volume.Labels?.[LABEL_MANAGED], 'true');
    assert.equal(volume.Labels?.[LABEL_USER_ID], spec.userId);
    assert.equal(volume.Labels?.[LABEL_HOME], spec.homeKey);

    assert.ok(info.Config.Env.includes('APP_MODE=test'));
    assert.ok(info.Config.Env.includes('STREAMSPACE_GEOMETRY=1024x640'));
    assert.ok(
      !JSON.stringify(info).includes(spec.vncPassword),
      'the VNC password appears nowhere in docker inspect',
    );
    const archive = await container.getArchive({ path: '/run/streamspace/vncpasswd' });
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks);
    assert.equal(firstFileOf(tar)?.toString(), `${spec.vncPassword}\n`);
    // ustar header: mode at 100 (octal), uid at 108.
    assert.equal(parseInt(tar.toString('ascii', 100, 107), 8) & 0o777, 0o400);
    assert.equal(parseInt(tar.toString('ascii', 108, 115), 8), 1000);

    const probe = await connect(spec.sessionId, spec.vncPassword);
    assert.equal(probe.width, 1024);
    assert.equal(probe.height, 640);
    probe.close();
    await env.driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('reports a container killed behind its back as failed with the exit code', async () => {
    const spec = env.makeSpec();
    await env.driver.start(spec);
    const seen: SessionObservation[] = [];
    const unsubscribe = env.driver.onSessionChange((o) => seen.push(o));
    await env.killSession(spec.sessionId);
    const failed = await waitFor('a failed report', () =>
      seen.find((o) => o.sessionId === spec.sessionId && o.status === 'failed'),
    );
    unsubscribe();
    assert.equal(failed.reason, 'container exited with code 137 (killed by SIGKILL)');
    const inspected = await env.driver.inspect(spec.sessionId);
    assert.equal(inspected?.status, 'failed');
    assert.equal(inspected?.reason, 'container exited with code 137 (killed by SIGKILL)');
    // Owner and template travel with the observation, so an orphan can be adopted.
    assert.equal(inspected?.details.userId, spec.userId);
    assert.equal(inspected?.details.templateId, spec.templateId);
    await assert.rejects(env.driver.openStream(spec.sessionId, 5900), {
      code: 'session_not_found',
    });
    await env.driver.stop(spec.sessionId, { deleteHome: true });
    assert.equal(await env.driver.inspect(spec.sessionId), null);
  });

  it('says OOM killed when the session outgrows its memory limit', async () => {
    // `tail /dev/zero` buffers one endless line until the kernel's OOM killer stops it.
    const spec = env.makeSpec({
      app: ['sh', '-c', 'sleep 1; exec tail /dev/zero'],
      resources: { cpuMillis: 500, memoryMb: 192 },
    });
    const seen: SessionObservation[] = [];
    const unsubscribe = env.driver.onSessionChange((o) => seen.push(o));
    await env.driver.start(spec);
    const failed = await waitFor(
      'an OOM report',
      () => seen.find((o) => o.sessionId === spec.sessionId && o.status === 'failed'),
      { timeoutMs: 30_000 },
    );
    unsubscribe();
    assert.match(failed.reason ?? '', /^container exited with code \d+ \(OOM killed\)$/);
    await env.driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('hibernate gives the app its grace period, keeps the home, and survives an agent restart', async () => {
    const spec = env.makeSpec({
      app: [
        'sh',
        '-c',
        'trap "sleep 1; echo flushed-on-term > $HOME/last-words.txt; exit 0" TERM; ' +
          'touch $HOME/app-ready; while :; do sleep 0.1; done',
      ],
    });
    await env.driver.start(spec);
    // RFB answers before the app runs: wait until its SIGTERM trap is set.
    await waitFor(
      'the app to run',
      async () => (await env.readHomeFile(spec.homeKey, 'app-ready')) ?? undefined,
    );
    const seen: SessionObservation[] = [];
    env.driver.onSessionChange((o) => seen.push(o));
    await env.driver.hibernate(spec.sessionId);

    assert.equal(
      (await env.readHomeFile(spec.homeKey, 'last-words.txt'))?.toString(),
      'flushed-on-term\n',
    );
    await assert.rejects(env.docker.getContainer(containerName(spec.sessionId)).inspect(), {
      statusCode: 404,
    });
    await env.docker.getVolume(hibernationVolumeName(spec.sessionId)).inspect();

    const restarted = env.newDriver();
    const listed = (await restarted.list()).find((o) => o.sessionId === spec.sessionId);
    assert.equal(listed?.status, 'stopped');
    assert.equal(listed?.reason, 'hibernated');

    const started = Date.now();
    const woken = await restarted.wake(spec);
    assert.equal(woken.observation.status, 'running');
    assert.ok(Date.now() - started < 10_000, 'wake is fast with the image and volume present');
    assert.equal((await restarted.inspect(spec.sessionId))?.status, 'running');
    await assert.rejects(env.docker.getVolume(hibernationVolumeName(spec.sessionId)).inspect(), {
      statusCode: 404,
    });
    assert.deepEqual(
      seen.filter((o) => o.sessionId === spec.sessionId),
      [],
      'a hibernation is not reported as a failure',
    );

    await restarted.stop(spec.sessionId, { deleteHome: false });
    assert.equal(await restarted.inspect(spec.sessionId), null);
    assert.ok(await env.readHomeFile(spec.homeKey, 'last-words.txt'), 'stop keeps the home');
    await restarted.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
    await assert.rejects(env.docker.getVolume(homeVolumeName(spec.homeKey)).inspect(), {
      statusCode: 404,
    });
  });

  it('concurrent starts of one session make one container', async () => {
    const spec = env.makeSpec();
    const [a, b] = await Promise.all([env.driver.start(spec), env.driver.start(spec)]);
    assert.deepEqual(a.observation.endpoint, b.observation.endpoint);
    assert.equal(a.observation.details.containerId, b.observation.details.containerId);
    await env.driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('fails fast and typed on a missing image, a missing app and a reserved env name', async () => {
    const started = Date.now();
    const missing = env.makeSpec({ image: 'streamspace/does-not-exist:nope' });
    await assert.rejects(env.driver.start(missing), (error) => {
      assert.ok(isDriverError(error));
      assert.equal(error.code, 'image_not_found');
      return true;
    });
    // A few Docker API calls, which take seconds only when the engine is busy with other test
    // files' containers (2 s was too tight for that); no pull waiting on a registry.
    assert.ok(Date.now() - started < 5_000, 'no pull attempt, no wait');

    const noApp = env.makeSpec({ app: ['no-such-app'] });
    await assert.rejects(env.driver.start(noApp), (error) => {
      assert.ok(isDriverError(error));
      assert.equal(error.code, 'invalid_spec');
      assert.match(error.message, /app not found: no-such-app/);
      return true;
    });
    assert.equal(await env.driver.inspect(noApp.sessionId), null, 'the failed container is gone');

    await assert.rejects(env.driver.start(env.makeSpec({ env: { STREAMSPACE_WM: 'x' } })), {
      code: 'invalid_spec',
    });
  });

  it("start_timeout names the cause: the container's last log lines", async () => {
    // An image that keeps running but never serves RFB.
    const silent = `streamspace/test-silent:${env.scope}`;
    const holder = await env.docker.createContainer({
      Image: env.image,
      Labels: { [LABEL_SCOPE]: env.scope },
    });
    await run('docker', [
      'commit',
      '--change',
      'ENTRYPOINT ["/usr/bin/tini", "--", "sh", "-c", "echo still-warming-up >&2; exec sleep 600"]',
      holder.id,
      silent,
    ]);
    await holder.remove({ force: true });
    try {
      const driver = env.newDriver({ startTimeoutMs: 1_500 });
      const spec = env.makeSpec({ image: silent });
      const started = Date.now();
      await assert.rejects(driver.start(spec), (error) => {
        assert.ok(isDriverError(error));
        assert.equal(error.code, 'start_timeout');
        assert.match(error.message, /still-warming-up/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000);
      assert.equal(await driver.inspect(spec.sessionId), null, 'the stuck container is removed');
    } finally {
      await env.docker.getImage(silent).remove({ force: true });
    }
  });

  it('reports an app that exits 0 as stopped, and lists and stops containers started by hand', async () => {
    const spec = env.makeSpec({ app: ['sh', '-c', 'sleep 2; exit 0'] });
    const seen: SessionObservation[] = [];
    const unsubscribe = env.driver.onSessionChange((o) => seen.push(o));
    await env.driver.start(spec);
    const ended = await waitFor('the app to end', () =>
      seen.find((o) => o.sessionId === spec.sessionId),
    );
    unsubscribe();
    assert.equal(ended.status, 'stopped');
    assert.equal(ended.reason, 'container exited with code 0');
    await env.driver.stop(spec.sessionId, { deleteHome: true });

    // A container with the session labels that the driver never made (issue 5: orphans).
    const orphanId = randomUUID();
    const orphan = await env.docker.createContainer({
      Image: env.image,
      Env: ['STREAMSPACE_VNC_PASSWORD=orphan-password'],
      Labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_SCOPE]: env.scope,
        [LABEL_SESSION_ID]: orphanId,
      },
      HostConfig: { NetworkMode: 'none' },
    });
    await orphan.start();
    const listed = (await env.driver.list()).find((o) => o.sessionId === orphanId);
    assert.equal(listed?.status, 'running');
    assert.equal(listed?.endpoint, undefined, 'not on the sessions network: no endpoint');
    assert.match(listed?.reason ?? '', /not attached to network/);
    assert.equal((await env.driver.inspect(orphanId))?.status, 'running');
    await env.driver.stop(orphanId, { deleteHome: false });
    await assert.rejects(orphan.inspect(), { statusCode: 404 });
  });
});

describe('docker driver without a Docker engine', () => {
  it('start fails fast with platform_error instead of hanging', async () => {
    const driver = createDockerDriver({
      docker: new Docker({ socketPath: '/nonexistent/docker.sock' }),
      startTimeoutMs: 60_000,
    });
    const started = Date.now();
    await assert.rejects(driver.start(makeOfflineSpec()), { code: 'platform_error' });
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual(
      await driver.list().catch((error: { code?: string }) => error.code),
      'platform_error',
    );
    await driver.close();
  });
});

function makeOfflineSpec(): SessionSpec {
  return {
    sessionId: randomUUID(),
    userId: randomUUID(),
    templateId: 'offline',
    image: 'streamspace/desktop:any',
    app: [],
    windowManager: 'twm',
    resources: { cpuMillis: 500, memoryMb: 256 },
    geometry: { width: 800, height: 600 },
    homeKey: 'offline-home',
    vncPassword: 'offline-password',
    vncPort: 5900,
    env: {},
  };
}
