import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  AGENT_MANIFEST,
  helmTemplate,
  parseObjects,
  PRODUCTION,
  startChartCluster,
  type ChartCluster,
  type K8sObject,
} from './helm-chart-render';

// What a user runs without Helm's own install: `helm template … | kubectl apply -f -` and
// `kubectl apply -f deploy/kubernetes/agent.yaml`, with the current kubectl (1.35) and its
// client-side apply (last-applied annotation, three-way strategic merge patches) against the
// test API server. The server stores workloads and RBAC objects without running them.

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

const ref = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;

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

test('kubectl apply of the rendered chart creates every object, and a re-apply patches one', async () => {
  const first = await renderToFile('default', [], PASSWORDS);
  const applied = await kubectl('apply', '--server-side=false', '-f', first.file);
  // kubectl asks for fieldValidation=Strict: a field the Kubernetes schema lacks fails here.
  assert.equal(applied.code, 0, applied.stderr);
  assert.doesNotMatch(applied.stderr, /Warning|unknown field/);
  for (const object of first.objects) {
    assert.match(applied.stdout, new RegExp(`/${object.metadata.name} created`), ref(object));
  }
  const objects = await stored('app.kubernetes.io/instance=streamspace');
  assert.deepEqual(objects.map(ref).sort(), first.objects.map(ref).sort());
  const role = objects.find((object) => object.kind === 'Role')!;
  assert.deepEqual(role.rules, first.objects.find((object) => object.kind === 'Role')!.rules);

  // The user scales with `--set`: a three-way merge patch changes replicas and nothing else.
  const second = await renderToFile('scaled', [], [...PASSWORDS, 'controlPlane.replicas=3']);
  const reapplied = await kubectl('apply', '--server-side=false', '-f', second.file);
  assert.equal(reapplied.code, 0, reapplied.stderr);
  assert.match(
    reapplied.stdout,
    /deployment\.apps\/streamspace-streamspace-control-plane configured/,
  );
  assert.match(reapplied.stdout, /deployment\.apps\/streamspace-streamspace-agent unchanged/);
  assert.match(reapplied.stdout, /role\.rbac\.authorization\.k8s\.io\/\S+ unchanged/);
  const replicas = await kubectl(
    'get',
    'deploy',
    'streamspace-streamspace-control-plane',
    '-o',
    'jsonpath={.spec.replicas}',
  );
  assert.equal(replicas.stdout, '3');

  const deleted = await kubectl('delete', '-f', second.file);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.deepEqual(await stored('app.kubernetes.io/instance=streamspace'), []);
});

test('kubectl apply of the production chart creates the sessions namespace before its Role', async () => {
  const { file, objects } = await renderToFile('production', [PRODUCTION], []);
  const applied = await kubectl('apply', '--server-side=false', '-f', file);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /namespace\/streamspace-sessions created/);
  const inSessions = await stored('app.kubernetes.io/instance=streamspace', 'streamspace-sessions');
  // The binding sits beside its Role; its subject stays in the release namespace.
  assert.deepEqual(inSessions.map(ref).sort(), [
    'Role/streamspace-streamspace-agent',
    'RoleBinding/streamspace-streamspace-agent',
  ]);
  const inRelease = await stored('app.kubernetes.io/instance=streamspace');
  assert.equal(inRelease.length, objects.length - 3, 'all but the Namespace, Role and binding');
  const deleted = await kubectl('delete', '-f', file);
  assert.equal(deleted.code, 0, deleted.stderr);
});

test('kubectl apply -f deploy/kubernetes/agent.yaml works as the docs say', async () => {
  const applied = await kubectl('apply', '--server-side=false', '-f', AGENT_MANIFEST);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /namespace\/streamspace-agent created/);
  assert.match(applied.stdout, /deployment\.apps\/streamspace-agent created/);
  const again = await kubectl('apply', '--server-side=false', '-f', AGENT_MANIFEST);
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
  const deleted = await kubectl('delete', '-f', AGENT_MANIFEST);
  assert.equal(deleted.code, 0, deleted.stderr);
});
