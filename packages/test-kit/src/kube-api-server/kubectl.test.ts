import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kubeTool, runTool, type ToolResult } from '../kube-tools';
import { waitFor } from '../wait-for';
import { BUSYBOX_TEST_IMAGE, ensureBusyboxImage } from './busybox-image';
import { createKubeApiServer, type KubeApiServer } from './kube-api-server';

let server: KubeApiServer;
let kubeconfig: string;
let dir: string;

/**
 * Two kubectls: the machine's (`KUBECTL`, a path, when set, else the one on PATH: 1.32 on the
 * project's machine images, Debian's 1.20 where scripts/install-deps installed it) and the
 * current one from the kube tools devDependency (1.35), which uses aggregated discovery and
 * watch lists (`sendInitialEvents`) where the older ones do not.
 */
const SYSTEM_KUBECTL = process.env.KUBECTL ?? 'kubectl';

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
  await rm(join(kubeconfig, '..'), { recursive: true, force: true });
});

type Kubectl = (...args: string[]) => Promise<ToolResult>;

// Each binary gets its own discovery cache, so each one's discovery really reaches the server.
function kubectlAt(binary: string, cacheName: string): Kubectl {
  return (...args) =>
    runTool(binary, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, cacheName), ...args], {
      timeout: 30_000,
    });
}

async function minorVersion(kubectl: Kubectl): Promise<number> {
  const version = JSON.parse((await kubectl('version', '--client', '-o', 'json')).stdout) as {
    clientVersion: { minor: string };
  };
  return Number.parseInt(version.clientVersion.minor, 10);
}

/** create -f, get -l, jsonpath, delete: what the docs tell users to run, on pod `name`. */
async function createGetDelete(kubectl: Kubectl, name: string): Promise<void> {
  const manifest = join(dir, `${name}.yaml`);
  await writeFile(
    manifest,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: ${name}`,
      `  labels: { app: ${name}, tier: desk }`,
      'spec:',
      '  restartPolicy: Never',
      '  containers:',
      '    - name: main',
      `      image: ${BUSYBOX_TEST_IMAGE}`,
      '      command: ["/bin/sh", "-c", "exec sleep 600"]',
      '---',
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      `metadata: { name: home-${name} }`,
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  resources: { requests: { storage: 1Gi } }',
      '',
    ].join('\n'),
  );
  // kubectl before 1.26 validates against /openapi/v2 in protobuf, which this server does not
  // serve (Debian's kubernetes-client is 1.20); newer ones ask the server to validate (v3).
  const validate = (await minorVersion(kubectl)) >= 26 ? [] : ['--validate=false'];
  const created = await kubectl('create', ...validate, '-f', manifest);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`pod/${name} created`));
  assert.match(created.stdout, new RegExp(`persistentvolumeclaim/home-${name} created`));

  const again = await kubectl('create', ...validate, '-f', manifest);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /AlreadyExists/);

  await waitFor(
    'kubectl to show the pod Running',
    async () => {
      const listed = await kubectl('get', 'pods', '-l', `app=${name},tier in (desk)`);
      return listed.code === 0 && new RegExp(`${name}\\s+1/1\\s+Running`).test(listed.stdout);
    },
    { timeoutMs: 30_000 },
  );
  const none = await kubectl('get', 'pods', '-l', `app=${name},tier!=desk`);
  assert.match(none.stderr, /No resources found in default namespace/);
  const phase = await kubectl('get', 'pvc', `home-${name}`, '-o', 'jsonpath={.status.phase}');
  assert.equal(phase.stdout, 'Bound');
  const ip = await kubectl('get', 'pod', name, '-o', 'jsonpath={.status.podIP}');
  assert.match(ip.stdout, /^\d+\.\d+\.\d+\.\d+$/);
  const json = await kubectl('get', 'pods', '-l', `app=${name}`, '-o', 'json');
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as {
    kind: string;
    items: {
      metadata: { name: string; labels: Record<string, string> };
      status: { phase: string };
    }[];
  };
  assert.equal(list.kind, 'List');
  assert.deepEqual(
    list.items.map((item) => [item.metadata.name, item.metadata.labels.tier, item.status.phase]),
    [[name, 'desk', 'Running']],
  );

  const deleted = await kubectl('delete', 'pod', name, '--grace-period=1');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, new RegExp(`pod "${name}" deleted`));
  const gone = await kubectl('get', 'pod', name);
  assert.match(gone.stderr, /NotFound/);
}

test('the machine kubectl: create -f, get -l, -o json and delete work unchanged', async () => {
  await createGetDelete(kubectlAt(SYSTEM_KUBECTL, 'cache-system'), 'system-kubectl');
});

test('the current kubectl (1.35): the same, with aggregated discovery and watch lists', async () => {
  const kubectl = kubectlAt(await kubeTool('kubectl'), 'cache-current');
  assert.equal(await minorVersion(kubectl), 35);
  const from = server.requestLog.length;
  await createGetDelete(kubectl, 'current-kubectl');
  const requests = server.requestLog.slice(from);
  const paths = requests.map((entry) => entry.path);
  // Discovery in two requests (/api, /apis), not one per group version.
  assert.ok(paths.includes('/api') && paths.includes('/apis'));
  assert.ok(!paths.includes('/api/v1'), 'aggregated discovery, no legacy /api/v1 list');
  // `delete` waits for the pod to go with a watch that starts with the current state.
  assert.ok(requests.some((entry) => entry.watch && entry.path.endsWith('/pods')));
});

test('the current kubectl: a misspelt field is refused (fieldValidation=Strict), or a warning', async () => {
  const kubectl = kubectlAt(await kubeTool('kubectl'), 'cache-current');
  const manifest = join(dir, 'typo.yaml');
  const typo = (name: string) =>
    writeFile(
      manifest,
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        `metadata: { name: ${name}, labelz: { a: b } }`,
        'datta: { key: value }',
        '',
      ].join('\n'),
    );
  await typo('strict');
  const strict = await kubectl('create', '-f', manifest);
  assert.notEqual(strict.code, 0);
  assert.match(
    strict.stderr,
    /BadRequest.*cannot be handled as a ConfigMap: strict decoding error/,
  );
  assert.match(strict.stderr, /unknown field "metadata\.labelz"/);
  assert.match(strict.stderr, /unknown field "datta"/);
  assert.match((await kubectl('get', 'configmap', 'strict')).stderr, /NotFound/);

  await typo('warned');
  const warned = await kubectl('create', '--validate=warn', '-f', manifest);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /Warning: unknown field "datta"/);
  await typo('ignored');
  const ignored = await kubectl('create', '--validate=false', '-f', manifest);
  assert.equal(ignored.code, 0, ignored.stderr);
  assert.equal(ignored.stderr, '');
  await kubectl('delete', 'configmap', 'warned', 'ignored');
});
