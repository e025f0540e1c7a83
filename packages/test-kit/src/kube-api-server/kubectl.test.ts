import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../wait-for';
import { BUSYBOX_TEST_IMAGE, ensureBusyboxImage } from './busybox-image';
import { createKubeApiServer, type KubeApiServer } from './kube-api-server';

let server: KubeApiServer;
let kubeconfig: string;
let dir: string;

/** Which kubectl to run: `KUBECTL` (a path) when set, else the one on PATH. */
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

before(async () => {
  await ensureBusyboxImage();
  // No token here: this kubectl sends bearer tokens only over TLS, and the server speaks HTTP.
  server = await createKubeApiServer();
  kubeconfig = await server.writeKubeconfig();
  dir = await mkdtemp(join(tmpdir(), 'streamspace-kubectl-'));
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

// Asynchronous on purpose: the server runs in this process and must keep answering.
function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? 1),
          stdout,
          stderr,
        });
      },
    );
  });
}

test('kubectl create -f and get -l work unchanged against the test API server', async () => {
  const manifest = join(dir, 'pod.yaml');
  await writeFile(
    manifest,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: from-kubectl',
      '  labels: { app: kubectl-test, tier: desk }',
      'spec:',
      '  restartPolicy: Never',
      '  containers:',
      '    - name: main',
      `      image: ${BUSYBOX_TEST_IMAGE}`,
      '      command: ["/bin/sh", "-c", "exec sleep 600"]',
      '---',
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata: { name: home-kubectl }',
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  resources: { requests: { storage: 1Gi } }',
      '',
    ].join('\n'),
  );
  // kubectl before 1.26 validates against /openapi/v2 in protobuf, which this server does not
  // serve (Debian's kubernetes-client is 1.20); newer ones ask the server to validate (v3).
  const version = JSON.parse((await kubectl('version', '--client', '-o', 'json')).stdout) as {
    clientVersion: { minor: string };
  };
  const validate =
    Number.parseInt(version.clientVersion.minor, 10) >= 26 ? [] : ['--validate=false'];
  const created = await kubectl('create', ...validate, '-f', manifest);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /pod\/from-kubectl created/);
  assert.match(created.stdout, /persistentvolumeclaim\/home-kubectl created/);

  const again = await kubectl('create', ...validate, '-f', manifest);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /AlreadyExists/);

  await waitFor(
    'kubectl to show the pod Running',
    async () => {
      const listed = await kubectl('get', 'pods', '-l', 'app=kubectl-test,tier in (desk)');
      return listed.code === 0 && /from-kubectl\s+1\/1\s+Running/.test(listed.stdout);
    },
    { timeoutMs: 30_000 },
  );
  const none = await kubectl('get', 'pods', '-l', 'app!=kubectl-test');
  assert.match(none.stderr, /No resources found in default namespace/);
  const phase = await kubectl('get', 'pvc', 'home-kubectl', '-o', 'jsonpath={.status.phase}');
  assert.equal(phase.stdout, 'Bound');
  const ip = await kubectl('get', 'pod', 'from-kubectl', '-o', 'jsonpath={.status.podIP}');
  assert.match(ip.stdout, /^\d+\.\d+\.\d+\.\d+$/);

  const deleted = await kubectl('delete', 'pod', 'from-kubectl', '--grace-period=1');
  assert.equal(deleted.code, 0, deleted.stderr);
  const gone = await kubectl('get', 'pod', 'from-kubectl');
  assert.match(gone.stderr, /NotFound/);
});
