import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SessionObservation } from '@streamspace/protocol';
import { DriverError } from '@streamspace/session-driver';
import { RfbProbe, waitFor } from '@streamspace/test-kit';
import { claimName, podName } from '../src/kubernetes-objects';
import { createKubeTestEnv, SESSIONS_NAMESPACE, type KubeTestEnv } from './kube-test-env';

let env: KubeTestEnv;

before(async () => {
  // The default schedule timeout: a short one would fail ordinary starts whose claim binds
  // late (a Docker volume create) on a busy machine. The tests of it make their own driver.
  env = await createKubeTestEnv();
});

after(async () => {
  await env.cleanup();
});

const ns = SESSIONS_NAMESPACE;
const stored = (resource: string, name: string) =>
  env.server.objects(resource, ns).find((object) => object.metadata.name === name);

async function startFailure(promise: Promise<unknown>): Promise<DriverError> {
  const error = await promise.then(
    () => assert.fail('start should fail'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof DriverError, `a DriverError, got ${String(error)}`);
  return error;
}

test('the objects reach the API server as built, and readiness comes from the watch', async () => {
  const spec = env.makeSpec();
  const before = env.server.requestLog.length;
  const { observation } = await env.driver.start(spec);
  assert.equal(observation.status, 'running');
  const pod = stored('pods', podName(spec.sessionId))!;
  const container = (pod.spec as { containers: Record<string, unknown>[] }).containers[0]!;
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
  });
  assert.equal(JSON.stringify(pod).includes(spec.vncPassword), false, 'no password in the pod');
  const policy = stored('networkpolicies', `ss-${spec.sessionId}-vnc`)!;
  const ingress = (policy.spec as { ingress: Record<string, unknown>[] }).ingress[0]!;
  assert.ok(Array.isArray(ingress.from), 'the wire name is `from`');
  assert.equal(
    stored('persistentvolumeclaims', claimName(spec.homeKey))?.metadata.name,
    claimName(spec.homeKey),
  );

  // One read of the pod (is it already there?) and no polling until it is ready.
  const reads = env.server.requestLog
    .slice(before)
    .filter(
      (entry) =>
        entry.method === 'GET' && !entry.watch && entry.path.endsWith(podName(spec.sessionId)),
    );
  assert.ok(reads.length <= 1, `${reads.length} GETs of the pod during start`);
  await env.driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
});

test('an unschedulable session fails with capacity_exhausted and the scheduler reason, in bounded time', async () => {
  // Long enough for the home claim to bind on a busy machine: an unbound claim is reported
  // first (as platform_error), before a lack of room.
  const driver = env.newDriver({ scheduleTimeoutMs: 3_000 });
  const spec = env.makeSpec({ resources: { cpuMillis: 64_000, memoryMb: 512 } });
  const startedAt = Date.now();
  const error = await startFailure(driver.start(spec));
  assert.equal(error.code, 'capacity_exhausted');
  assert.match(error.message, /Insufficient cpu/);
  assert.ok(Date.now() - startedAt < 10_000, 'reported within the schedule timeout');
  assert.equal(await driver.inspect(spec.sessionId), null, 'nothing is left pending');
  await driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
});

test('a home claim that never binds fails the start with the claim named, in bounded time', async () => {
  const driver = env.newDriver({ storageClassName: 'never-binds', scheduleTimeoutMs: 1_500 });
  const spec = env.makeSpec();
  const error = await startFailure(driver.start(spec));
  assert.equal(error.code, 'platform_error');
  assert.match(
    error.message,
    new RegExp(`PersistentVolumeClaim ${claimName(spec.homeKey)} is Pending`),
  );
  assert.match(error.message, /never-binds/);
  assert.equal(await driver.inspect(spec.sessionId), null);
  await driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
});

test('losing the watch: the driver re-lists and still sees a start and a crash', async () => {
  const changes: SessionObservation[] = [];
  const unsubscribe = env.driver.onSessionChange((observation) => changes.push(observation));
  try {
    await waitFor('the driver watch', () => env.server.openWatches() >= 1);
    // Cut the connection and forget the history: resuming is impossible, only a re-list works.
    env.server.compactHistory();
    env.server.dropWatches();
    const spec = env.makeSpec();
    const { observation } = await env.driver.start(spec);
    assert.equal(observation.status, 'running');

    env.server.dropWatches();
    env.server.compactHistory();
    await env.killSession(spec.sessionId);
    const failed = await waitFor(
      'the crash to be reported',
      () =>
        changes.find((change) => change.sessionId === spec.sessionId && change.status === 'failed'),
      { timeoutMs: 15_000 },
    );
    assert.match(failed.reason ?? '', /exit code 137/);
    await env.driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
  } finally {
    unsubscribe();
  }
});

test('an evicted session is reported failed with reason Evicted', async () => {
  const changes: SessionObservation[] = [];
  const unsubscribe = env.driver.onSessionChange((observation) => changes.push(observation));
  try {
    const spec = env.makeSpec();
    await env.driver.start(spec);
    await env.server.evictPod(ns, podName(spec.sessionId), 'The node was low on resource: memory.');
    const failed = await waitFor('the eviction to be reported', () =>
      changes.find((change) => change.sessionId === spec.sessionId && change.status === 'failed'),
    );
    assert.match(failed.reason ?? '', /^Evicted: The node was low on resource: memory/);
    assert.equal((await env.driver.inspect(spec.sessionId))?.status, 'failed');
    await assert.rejects(env.driver.openStream(spec.sessionId, spec.vncPort), {
      code: 'session_not_found',
    });
    // A start after a failure replaces the failed pod.
    const again = await env.driver.start(spec);
    assert.equal(again.observation.status, 'running');
    await env.driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
  } finally {
    unsubscribe();
  }
});

test('invalid specs are refused with invalid_spec before anything is created', async () => {
  const spec = env.makeSpec({ env: { STREAMSPACE_VNC_PASSWORD: 'leak' } });
  const error = await startFailure(env.driver.start(spec));
  assert.equal(error.code, 'invalid_spec');
  assert.equal(stored('pods', podName(spec.sessionId)), undefined);
});

test('streamMode port-forward reaches the desktop through the API server', async () => {
  const driver = env.newDriver({ streamMode: 'port-forward' });
  const spec = env.makeSpec({ geometry: { width: 1024, height: 640 } });
  await driver.start(spec);
  const before = env.server.requestLog.length;
  const probe = await RfbProbe.connect(await driver.openStream(spec.sessionId, spec.vncPort), {
    password: spec.vncPassword,
    timeoutMs: 10_000,
  });
  try {
    assert.deepEqual([probe.width, probe.height], [1024, 640]);
    probe.setPixelFormat();
    probe.requestUpdate(false);
    const update = await probe.readUpdate(10_000);
    assert.ok(update.rectangles.length > 0, 'pixels arrive through the port-forward');
  } finally {
    probe.close();
  }
  // The bytes went through the API server, not to the pod IP.
  assert.ok(
    env.server.requestLog.slice(before).some((entry) => entry.path.endsWith('/portforward')),
  );
  await driver.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
});

test('a restarted agent (a new driver on the same scope) finds, streams and stops the session', async () => {
  const spec = env.makeSpec();
  await env.driver.start(spec);
  await env.driver.hibernate(spec.sessionId);
  const running = env.makeSpec();
  await env.driver.start(running);

  const restarted = env.newDriver({ scope: env.driver.scope });
  const listed = await restarted.list();
  assert.equal(listed.find((o) => o.sessionId === running.sessionId)?.status, 'running');
  assert.equal(listed.find((o) => o.sessionId === spec.sessionId)?.status, 'stopped');
  const other = env.newDriver();
  assert.equal((await other.list()).length, 0, 'another scope sees none of them');

  const probe = await RfbProbe.connect(
    await restarted.openStream(running.sessionId, running.vncPort),
    {
      password: running.vncPassword,
      timeoutMs: 10_000,
    },
  );
  probe.close();
  const again = await restarted.start(running);
  assert.equal(again.observation.status, 'running', 'start adopts the running pod');
  await restarted.stop(running.sessionId, { deleteHome: true, homeKey: running.homeKey });
  await restarted.stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey });
  assert.deepEqual(await restarted.list(), []);
});
