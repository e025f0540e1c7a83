import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { CoreV1Api, KubeConfig, PortForward, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../wait-for';
import { BUSYBOX_TEST_IMAGE, ensureBusyboxImage } from './busybox-image';
import { KUBE_SERVER_LABEL } from './docker-pod-runtime';
import { createKubeApiServer, type KubeApiServer } from './kube-api-server';

const docker = new Docker();
let server: KubeApiServer;
let core: CoreV1Api;
let kc: KubeConfig;
const namespace = 'default';

before(async () => {
  await ensureBusyboxImage(docker);
  server = await createKubeApiServer({ docker, capacity: { cpuMillis: 2000, memoryMb: 2048 } });
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
});

after(async () => {
  await server.close();
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`${KUBE_SERVER_LABEL}=${server.serverId}`] },
  });
  assert.equal(left.length, 0, 'close() removes every container');
});

async function readPod(name: string): Promise<V1Pod> {
  return core.readNamespacedPod({ name, namespace });
}

function shellPod(name: string, script: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, labels: { test: 'kubelet' } },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: BUSYBOX_TEST_IMAGE, command: ['/bin/sh', '-c', script] }],
      ...extra,
    },
  };
}

function echo(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = '';
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.length >= text.length) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', reject);
  });
}

test('a pod runs as a container: secret file, env, PVC with fsGroup, read-only root, ready by tcp probe', async () => {
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'vnc-1' }, stringData: { password: 's3cret-pw' } },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'home-one' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  });
  await waitFor(
    'the claim to bind',
    async () =>
      (await core.readNamespacedPersistentVolumeClaim({ name: 'home-one', namespace })).status
        ?.phase === 'Bound',
  );
  const body = shellPod(
    'runner',
    'cat /run/vnc/password > /home/user/seen && echo "$GREETING" >> /home/user/seen && (touch /rootfs-write 2>/dev/null || echo ro >> /home/user/seen) && exec nc -ll -p 5900 -e cat',
    {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true },
      volumes: [
        { name: 'home', persistentVolumeClaim: { claimName: 'home-one' } },
        { name: 'vnc', secret: { secretName: 'vnc-1', defaultMode: 0o440 } },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  );
  body.spec!.containers[0] = {
    ...body.spec!.containers[0]!,
    env: [{ name: 'GREETING', value: 'hello-pod' }],
    ports: [{ containerPort: 5900, name: 'vnc' }],
    readinessProbe: { tcpSocket: { port: 'vnc' as never }, periodSeconds: 1 },
    securityContext: {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'home', mountPath: '/home/user' },
      { name: 'vnc', mountPath: '/run/vnc', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
  await core.createNamespacedPod({ namespace, body });
  const ready = await waitFor(
    'the pod to be Ready',
    async () => {
      const pod = await readPod('runner');
      return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && pod;
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(ready.status?.phase, 'Running');
  assert.equal(ready.spec?.nodeName, 'streamspace-test-node');
  assert.match(ready.status?.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(ready.status?.containerStatuses?.[0]?.ready, true);
  assert.ok(ready.status?.containerStatuses?.[0]?.state?.running);
  assert.equal(
    await echo(ready.status!.podIP!, 5900, 'ping over the pod network'),
    'ping over the pod network',
  );
  const seen = await server.readClaimFile(namespace, 'home-one', 'seen', BUSYBOX_TEST_IMAGE);
  // The secret file has no newline of its own; `ro` proves the root filesystem refused a write.
  assert.equal(seen?.toString(), 's3cret-pwhello-pod\nro\n');

  const container = (
    await docker.listContainers({
      filters: { label: [`io.kubernetes.pod.uid=${ready.metadata!.uid}`] },
    })
  )[0]!;
  const info = await docker.getContainer(container.Id).inspect();
  assert.equal(info.HostConfig.ReadonlyRootfs, true);
  assert.equal(info.Config.User, '1000:1000');
  assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);

  // Deleting stops and removes the container, then the pod; the claim's volume stays.
  await core.deleteNamespacedPod({ name: 'runner', namespace, gracePeriodSeconds: 1 });
  await waitFor(
    'the pod to disappear',
    async () => {
      try {
        await readPod('runner');
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 20_000 },
  );
  assert.equal(
    (
      await docker.listContainers({
        all: true,
        filters: { label: [`io.kubernetes.pod.uid=${ready.metadata!.uid}`] },
      })
    ).length,
    0,
  );
  assert.equal(
    (await server.readClaimFile(namespace, 'home-one', 'seen', BUSYBOX_TEST_IMAGE))?.toString(),
    's3cret-pwhello-pod\nro\n',
  );
});

test('a missing image leaves the pod Pending with ErrImagePull, then ImagePullBackOff', async () => {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'no-image' },
      spec: { containers: [{ name: 'main', image: 'streamspace/does-not-exist:0' }] },
    },
  });
  const reasons = new Set<string>();
  await waitFor(
    'ImagePullBackOff',
    async () => {
      const pod = await readPod('no-image');
      assert.equal(pod.status?.phase, 'Pending');
      const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason !== undefined) reasons.add(reason);
      return reasons.has('ErrImagePull') && reasons.has('ImagePullBackOff');
    },
    { timeoutMs: 10_000 },
  );
  await core.deleteNamespacedPod({ name: 'no-image', namespace });
});

test('requests beyond the node, and an unbound claim, leave the pod Unschedulable', async () => {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'too-big' },
      spec: {
        containers: [
          {
            name: 'main',
            image: BUSYBOX_TEST_IMAGE,
            resources: { requests: { cpu: '64', memory: '1Gi' } },
          },
        ],
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'stuck' },
      spec: {
        storageClassName: 'never-binds',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'unbound' },
      spec: {
        volumes: [{ name: 'h', persistentVolumeClaim: { claimName: 'stuck' } }],
        containers: [{ name: 'main', image: BUSYBOX_TEST_IMAGE }],
      },
    },
  });
  const scheduled = async (name: string) =>
    (await readPod(name)).status?.conditions?.find((c) => c.type === 'PodScheduled');
  const big = await waitFor(
    'too-big to be unschedulable',
    async () => (await scheduled('too-big'))?.status === 'False' && scheduled('too-big'),
  );
  assert.equal(big?.reason, 'Unschedulable');
  assert.match(big?.message ?? '', /Insufficient cpu/);
  const unbound = await waitFor(
    'unbound to be unschedulable',
    async () => (await scheduled('unbound'))?.status === 'False' && scheduled('unbound'),
  );
  assert.match(unbound?.message ?? '', /unbound immediate PersistentVolumeClaims/);
  assert.equal(
    (await core.readNamespacedPersistentVolumeClaim({ name: 'stuck', namespace })).status?.phase,
    'Pending',
  );
  await core.deleteNamespacedPod({ name: 'too-big', namespace });
  await core.deleteNamespacedPod({ name: 'unbound', namespace });
  await core.deleteNamespacedPersistentVolumeClaim({ name: 'stuck', namespace });
});

test('a container that exits or is OOM-killed fails the pod with the reason and exit code', async () => {
  await core.createNamespacedPod({ namespace, body: shellPod('exits', 'exit 3') });
  const oom = shellPod('oom', 'tail /dev/zero');
  oom.spec!.containers[0]!.resources = { limits: { memory: '16Mi', cpu: '500m' } };
  await core.createNamespacedPod({ namespace, body: oom });
  const terminated = async (name: string) => {
    const pod = await readPod(name);
    return pod.status?.phase === 'Failed' && pod.status.containerStatuses?.[0]?.state?.terminated;
  };
  const exited = await waitFor('exits to fail', () => terminated('exits'), { timeoutMs: 20_000 });
  assert.deepEqual([exited.exitCode, exited.reason], [3, 'Error']);
  const killed = await waitFor('oom to be OOMKilled', () => terminated('oom'), {
    timeoutMs: 30_000,
  });
  assert.equal(killed.reason, 'OOMKilled');
  assert.equal(killed.exitCode, 137);
  await core.deleteNamespacedPod({ name: 'exits', namespace });
  await core.deleteNamespacedPod({ name: 'oom', namespace });
});

test('an evicted pod is Failed with reason Evicted and its container is gone', async () => {
  await core.createNamespacedPod({ namespace, body: shellPod('evictee', 'exec sleep 600') });
  const running = await waitFor(
    'evictee to run',
    async () => (await readPod('evictee')).status?.phase === 'Running' && readPod('evictee'),
    { timeoutMs: 20_000 },
  );
  await server.evictPod(namespace, 'evictee', 'The node was low on resource: memory.');
  const pod = await readPod('evictee');
  assert.equal(pod.status?.phase, 'Failed');
  assert.equal(pod.status?.reason, 'Evicted');
  assert.equal(
    (
      await docker.listContainers({
        all: true,
        filters: { label: [`io.kubernetes.pod.uid=${running.metadata!.uid}`] },
      })
    ).length,
    0,
  );
  await core.deleteNamespacedPod({ name: 'evictee', namespace });
});

test('pods/portforward carries bytes to the pod port for @kubernetes/client-node', async () => {
  const body = shellPod('forwarded', 'exec nc -ll -p 7000 -e cat');
  await core.createNamespacedPod({ namespace, body });
  await waitFor(
    'forwarded to run',
    async () => (await readPod('forwarded')).status?.phase === 'Running',
    {
      timeoutMs: 20_000,
    },
  );
  const input = new PassThrough();
  const output = new PassThrough();
  let received = '';
  output.on('data', (chunk: Buffer) => (received += chunk.toString()));
  // nc may still be starting when the pod turns Running: retry the whole exchange.
  await waitFor(
    'an echo through the port-forward',
    async () => {
      const socket = await new PortForward(kc).portForward(
        namespace,
        'forwarded',
        [7000],
        output,
        null,
        input,
      );
      input.write('through the apiserver');
      try {
        return await waitFor('the echo', () => received.includes('through the apiserver'), {
          timeoutMs: 2_000,
        });
      } finally {
        (typeof socket === 'function' ? socket() : socket)?.close();
      }
    },
    { timeoutMs: 15_000 },
  );
  await core.deleteNamespacedPod({ name: 'forwarded', namespace, gracePeriodSeconds: 0 });
});
