import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  AGENT_MANIFEST,
  find,
  helmTemplate,
  parseObjects,
  PRODUCTION,
  startChartCluster,
  type ChartCluster,
  type K8sObject,
} from './helm-chart-render';

// What a user runs without Helm's own install: `helm template … | kubectl apply -f -` and
// `kubectl apply -f deploy/kubernetes/agent.yaml`, with the current kubectl (1.35) against the
// test API server, both ways kubectl applies: its default client-side apply (last-applied
// annotation, three-way strategic merge patches) and `--server-side` (PATCH
// application/apply-patch+yaml, fieldManager=kubectl, field ownership on the server). The
// server stores workloads and RBAC objects without running them.

let cluster: ChartCluster;

before(async () => {
  cluster = await startChartCluster('streamspace-chart-apply-');
});

after(async () => {
  await cluster?.close();
});

const kubectl = (...args: string[]) => cluster.kubectl(...args);

/** Renders the chart into a file for `kubectl apply -f`; returns the path and the objects. */
async function renderToFile(
  name: string,
  valuesFiles: string[],
  sets: string[],
): Promise<{ file: string; objects: K8sObject[] }> {
  const rendered = await helmTemplate(valuesFiles, sets);
  assert.equal(rendered.code, 0, rendered.stderr);
  const file = join(cluster.dir, `${name}.yaml`);
  await writeFile(file, rendered.stdout);
  return { file, objects: parseObjects(rendered.stdout, name) };
}

/** The label selector of every object the release `streamspace` renders. */
const RELEASE = 'app.kubernetes.io/instance=streamspace';

const ref = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;

/** The replicas the control-plane Deployment `name` has on the server. */
async function replicasOf(name: string): Promise<string> {
  const got = await kubectl('get', 'deploy', name, '-o', 'jsonpath={.spec.replicas}');
  assert.equal(got.code, 0, got.stderr);
  return got.stdout;
}

/** `kubectl delete -f file` succeeds and leaves nothing of the release behind. */
async function deleteRelease(file: string): Promise<void> {
  const deleted = await kubectl('delete', '-f', file);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.deepEqual(await stored(RELEASE), []);
}

async function stored(selector: string, namespace = 'streamspace'): Promise<K8sObject[]> {
  const got = await kubectl(
    'get',
    'deploy,sts,svc,sa,role,rolebinding,pvc,secret,ingress',
    '-n',
    namespace,
    '-l',
    selector,
    '-o',
    'json',
  );
  assert.equal(got.code, 0, got.stderr);
  return (JSON.parse(got.stdout) as { items: K8sObject[] }).items;
}

// Fixed passwords so that a second render differs only where the test changes a value.
const PASSWORDS = ['controlPlane.admin.password=admin-pw', 'postgresql.password=postgres-pw'];

test('kubectl apply (client-side) of the rendered chart creates every object, and a re-apply patches one', async () => {
  const first = await renderToFile('default', [], PASSWORDS);
  const applied = await kubectl('apply', '-f', first.file);
  // kubectl asks for fieldValidation=Strict: a field the Kubernetes schema lacks fails here.
  assert.equal(applied.code, 0, applied.stderr);
  assert.doesNotMatch(applied.stderr, /Warning|unknown field/);
  for (const object of first.objects) {
    assert.match(applied.stdout, new RegExp(`/${object.metadata.name} created`), ref(object));
  }
  const objects = await stored(RELEASE);
  assert.deepEqual(objects.map(ref).sort(), first.objects.map(ref).sort());
  const role = objects.find((object) => object.kind === 'Role')!;
  assert.deepEqual(role.rules, first.objects.find((object) => object.kind === 'Role')!.rules);

  // The user scales with `--set`: a three-way merge patch changes replicas and nothing else.
  const second = await renderToFile('scaled', [], [...PASSWORDS, 'controlPlane.replicas=3']);
  const reapplied = await kubectl('apply', '-f', second.file);
  assert.equal(reapplied.code, 0, reapplied.stderr);
  assert.match(
    reapplied.stdout,
    /deployment\.apps\/streamspace-streamspace-control-plane configured/,
  );
  assert.match(reapplied.stdout, /deployment\.apps\/streamspace-streamspace-agent unchanged/);
  assert.match(reapplied.stdout, /role\.rbac\.authorization\.k8s\.io\/\S+ unchanged/);
  assert.equal(await replicasOf('streamspace-streamspace-control-plane'), '3');

  await deleteRelease(second.file);
});

const resourceVersion = (object: K8sObject) =>
  (object.metadata as { resourceVersion?: string }).resourceVersion;

test('kubectl apply --server-side of the rendered chart: a re-apply writes what changed, drops what was removed, and a conflict is the user’s to force', async () => {
  const first = await renderToFile('ssa', [], [...PASSWORDS, 'controlPlane.nodeSelector.disk=ssd']);
  const applied = await kubectl('apply', '--server-side', '-f', first.file);
  assert.equal(applied.code, 0, applied.stderr);
  assert.doesNotMatch(applied.stderr, /Warning|unknown field/);
  for (const object of first.objects) {
    assert.match(
      applied.stdout,
      new RegExp(`/${object.metadata.name} serverside-applied`),
      ref(object),
    );
  }
  const before = await stored(RELEASE);
  assert.deepEqual(before.map(ref).sort(), first.objects.map(ref).sort());
  const podSpecOf = (deployment: K8sObject | undefined) =>
    (deployment?.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  assert.deepEqual(podSpecOf(find(before, 'Deployment', '-control-plane')).nodeSelector, {
    disk: 'ssd',
  });

  // Scaled, and the nodeSelector no longer in the values: the server removes what kubectl
  // applied before and leaves out now, and writes nothing else that did not change.
  const second = await renderToFile('ssa-scaled', [], [...PASSWORDS, 'controlPlane.replicas=3']);
  const reapplied = await kubectl('apply', '--server-side', '-f', second.file);
  assert.equal(reapplied.code, 0, reapplied.stderr);
  const after = await stored(RELEASE);
  const controlPlane = find(after, 'Deployment', '-control-plane')!;
  assert.equal(controlPlane.spec?.replicas, 3);
  assert.equal(podSpecOf(controlPlane).nodeSelector, undefined, 'the dropped nodeSelector is gone');
  // The Secret's replica-secret is random in every `helm template`; the rest is unchanged.
  for (const object of after) {
    if (object === controlPlane || object.kind === 'Secret') continue;
    const earlier = before.find((old) => ref(old) === ref(object))!;
    assert.equal(resourceVersion(object), resourceVersion(earlier), `${ref(object)} not written`);
  }

  // Someone scales by hand; the next apply of the manifests refuses to undo it silently.
  const patched = await kubectl(
    'patch',
    'deploy',
    controlPlane.metadata.name,
    '--type',
    'merge',
    '-p',
    '{"spec":{"replicas":5}}',
  );
  assert.equal(patched.code, 0, patched.stderr);
  const refused = await kubectl('apply', '--server-side', '-f', second.file);
  assert.notEqual(refused.code, 0, refused.stdout);
  assert.match(
    refused.stderr,
    /Apply failed with 1 conflict: conflict with "kubectl-patch" using apps\/v1: \.spec\.replicas/,
  );
  const forced = await kubectl('apply', '--server-side', '--force-conflicts', '-f', second.file);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(await replicasOf(controlPlane.metadata.name), '3');

  await deleteRelease(second.file);
});

test('kubectl apply --server-side of the production chart creates the sessions namespace before its Role', async () => {
  const { file, objects } = await renderToFile('production', [PRODUCTION], []);
  const applied = await kubectl('apply', '--server-side', '-f', file);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /namespace\/streamspace-sessions serverside-applied/);
  const inSessions = await stored(RELEASE, 'streamspace-sessions');
  // The binding sits beside its Role; its subject stays in the release namespace.
  assert.deepEqual(inSessions.map(ref).sort(), [
    'Role/streamspace-streamspace-agent',
    'RoleBinding/streamspace-streamspace-agent',
  ]);
  const inRelease = await stored(RELEASE);
  assert.equal(inRelease.length, objects.length - 3, 'all but the Namespace, Role and binding');
  const deleted = await kubectl('delete', '-f', file);
  assert.equal(deleted.code, 0, deleted.stderr);
});

test('kubectl apply -f deploy/kubernetes/agent.yaml works as the docs say, then with --server-side', async () => {
  const applied = await kubectl('apply', '-f', AGENT_MANIFEST);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /namespace\/streamspace-agent created/);
  assert.match(applied.stdout, /deployment\.apps\/streamspace-agent created/);
  const again = await kubectl('apply', '-f', AGENT_MANIFEST);
  assert.equal(again.code, 0, again.stderr);
  // A second apply changes nothing. The stringData Secret says "configured" every time, as
  // with a real apiserver (kubernetes/kubernetes#87736: stored as data, so always a patch).
  const lines = again.stdout.trim().split('\n');
  assert.equal(lines.length, 7);
  for (const line of lines) {
    if (line.startsWith('secret/'))
      assert.equal(line, 'secret/streamspace-agent-enrollment configured');
    else assert.match(line, / unchanged$/);
  }
  // `kubectl diff` (dry-run patches) shows nothing to change, and a server dry-run delete
  // deletes nothing.
  const diff = await kubectl('diff', '-f', AGENT_MANIFEST);
  assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  assert.equal(diff.stdout, '');
  const dryDelete = await kubectl('delete', '--dry-run=server', '-f', AGENT_MANIFEST);
  assert.equal(dryDelete.code, 0, dryDelete.stderr);
  assert.match(
    dryDelete.stdout,
    /deployment\.apps "streamspace-agent" deleted .*\(server dry run\)/,
  );
  const kept = await kubectl('get', 'deploy', 'streamspace-agent', '-n', 'streamspace-agent');
  assert.equal(kept.code, 0, kept.stderr);

  // Moving to server-side apply: kubectl hands the client-side owner's fields to its
  // server-side manager (csaupgrade, a JSON patch of managedFields), as on a real cluster.
  const owners = async (): Promise<string[]> => {
    const got = await kubectl(
      'get',
      'deploy',
      'streamspace-agent',
      '-n',
      'streamspace-agent',
      '-o',
      'json',
      '--show-managed-fields',
    );
    assert.equal(got.code, 0, got.stderr);
    const { managedFields } = (
      JSON.parse(got.stdout) as {
        metadata: { managedFields: { manager: string; operation: string }[] };
      }
    ).metadata;
    return managedFields.map((entry) => `${entry.manager} ${entry.operation}`).sort();
  };
  assert.deepEqual(await owners(), ['kubectl-client-side-apply Update']);
  const serverSide = await kubectl('apply', '--server-side', '-f', AGENT_MANIFEST);
  assert.equal(serverSide.code, 0, serverSide.stderr);
  assert.doesNotMatch(serverSide.stderr, /Warning|failed/);
  assert.match(serverSide.stdout, /deployment\.apps\/streamspace-agent serverside-applied/);
  assert.deepEqual(await owners(), ['kubectl Apply', 'kubectl-last-applied Apply']);

  const deleted = await kubectl('delete', '-f', AGENT_MANIFEST);
  assert.equal(deleted.code, 0, deleted.stderr);
});
