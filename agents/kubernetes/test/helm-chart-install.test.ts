import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHART, helm, startChartCluster, type ChartCluster } from './helm-chart-render';

// The documented install, two steps, with the real helm against the test API server (which
// stores the workloads without running them): `helm install`, then `helm upgrade
// --reuse-values --set agent.enrollment.token=…`, then `helm uninstall`, as users type them:
// Helm 4 applies on the server by default (PATCH application/apply-patch+yaml,
// fieldManager=helm, force=false). Helm keeps its releases in Secrets sent in protobuf, which
// the test server decodes for Secrets.

let cluster: ChartCluster;

before(async () => {
  cluster = await startChartCluster('streamspace-helm-install-');
});

after(async () => {
  await cluster?.close();
});

const helmHere = (...args: string[]) =>
  helm('--kubeconfig', cluster.kubeconfig, '--namespace', 'streamspace', ...args);

const kubectl = (...args: string[]) => cluster.kubectl(...args);

async function chartSecret(): Promise<Record<string, string>> {
  const got = await kubectl('get', 'secret', 'streamspace-streamspace', '-o', 'json');
  assert.equal(got.code, 0, got.stderr);
  const data = (JSON.parse(got.stdout) as { data: Record<string, string> }).data;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
  );
}

/** Who owns the fields of a stored object: `manager operation` per managedFields entry. */
async function ownersOf(kind: string, name: string): Promise<string[]> {
  const got = await kubectl('get', kind, name, '-o', 'json', '--show-managed-fields');
  assert.equal(got.code, 0, got.stderr);
  const entries = (
    JSON.parse(got.stdout) as {
      metadata: { managedFields?: { manager: string; operation: string }[] };
    }
  ).metadata.managedFields;
  return (entries ?? []).map((entry) => `${entry.manager} ${entry.operation}`).sort();
}

const CONTROL_PLANE = 'streamspace-streamspace-control-plane';

test('helm install, upgrade with the enrollment token, uninstall: generated passwords are kept', async () => {
  const install = await helmHere('install', 'streamspace', CHART);
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /STATUS: deployed\nREVISION: 1/);
  assert.match(install.stdout, /The Kubernetes agent needs an enrollment token/);
  const first = await chartSecret();
  assert.match(first['admin-password']!, /^[A-Za-z0-9]{24}$/);
  assert.equal(first['enrollment-token'], '');
  // Applied on the server: helm owns the workload's fields.
  assert.deepEqual(await ownersOf('deploy', CONTROL_PLANE), ['helm Apply']);

  // `kubectl get all` (the `all` discovery category) shows what the user expects.
  const all = await kubectl('get', 'all', '-n', 'streamspace');
  assert.equal(all.code, 0, all.stderr);
  for (const expected of [
    'service/streamspace-streamspace ',
    'deployment.apps/streamspace-streamspace-control-plane ',
    'deployment.apps/streamspace-streamspace-agent ',
    'statefulset.apps/streamspace-streamspace-postgresql ',
  ]) {
    assert.ok(all.stdout.includes(expected), `${expected.trim()} in:\n${all.stdout}`);
  }

  // Someone scaled the control plane by hand: the upgrade refuses to undo it silently, as
  // Helm 4 does on a real cluster, until the user forces it.
  const scaled = await kubectl(
    'patch',
    'deploy',
    CONTROL_PLANE,
    '-n',
    'streamspace',
    '--type',
    'merge',
    '-p',
    '{"spec":{"replicas":2}}',
  );
  assert.equal(scaled.code, 0, scaled.stderr);
  const upgradeArgs = [
    'upgrade',
    'streamspace',
    CHART,
    '--reuse-values',
    '--set',
    'agent.enrollment.token=sse_test-enrollment',
  ];
  const refused = await helmHere(...upgradeArgs);
  assert.notEqual(refused.code, 0, refused.stdout);
  assert.match(
    refused.stderr,
    /Apply failed with 1 conflict: conflict with "kubectl-patch" using apps\/v1: \.spec\.replicas/,
  );
  const upgrade = await helmHere(...upgradeArgs, '--force-conflicts');
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.match(upgrade.stdout, /STATUS: deployed\nREVISION: 3/);
  const replicas = await kubectl('get', 'deploy', CONTROL_PLANE, '-o', 'jsonpath={.spec.replicas}');
  assert.equal(replicas.stdout, '1', 'the chart’s replicas again');
  assert.doesNotMatch(upgrade.stdout, /needs an enrollment token/, 'the token is set now');
  assert.match(upgrade.stdout, /logs deploy\/streamspace-streamspace-agent/);
  const second = await chartSecret();
  // The chart's `lookup` found the Secret: nobody's password changed under them.
  for (const key of ['admin-password', 'replica-secret', 'postgres-password']) {
    assert.equal(second[key], first[key], `${key} kept across the upgrade`);
  }
  assert.equal(second['enrollment-token'], 'sse_test-enrollment');

  const history = await helmHere('history', 'streamspace', '-o', 'json');
  assert.equal(history.code, 0, history.stderr);
  assert.deepEqual(
    (JSON.parse(history.stdout) as { revision: number; status: string }[]).map(
      (entry) => `${entry.revision} ${entry.status}`,
    ),
    ['1 superseded', '2 failed', '3 deployed'],
  );

  const uninstall = await helmHere('uninstall', 'streamspace');
  assert.equal(uninstall.code, 0, uninstall.stderr);
  const left = await kubectl(
    'get',
    'all,secret,pvc,sa,role,rolebinding',
    '-n',
    'streamspace',
    '-o',
    'name',
  );
  assert.equal(left.code, 0, left.stderr);
  assert.equal(left.stdout, '', 'the release and everything it made are gone');
});
