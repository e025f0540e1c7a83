import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHART, helm, startChartCluster, type ChartCluster } from './helm-chart-render';

// The documented install, two steps, with the real helm against the test API server (which
// stores the workloads without running them): `helm install`, then `helm upgrade
// --reuse-values --set agent.enrollment.token=…`, then `helm uninstall`. Helm 4 applies on the
// server by default, which the test server does not implement; `--server-side=false` is the
// client-side apply of Helm 3 and of Helm 4 on request. Helm keeps its releases in Secrets
// sent in protobuf, which the test server decodes for Secrets.

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

test('helm install, upgrade with the enrollment token, uninstall: generated passwords are kept', async () => {
  const install = await helmHere('install', 'streamspace', CHART, '--server-side=false');
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /STATUS: deployed\nREVISION: 1/);
  assert.match(install.stdout, /The Kubernetes agent needs an enrollment token/);
  const first = await chartSecret();
  assert.match(first['admin-password']!, /^[A-Za-z0-9]{24}$/);
  assert.equal(first['enrollment-token'], '');

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

  const upgrade = await helmHere(
    'upgrade',
    'streamspace',
    CHART,
    '--reuse-values',
    '--set',
    'agent.enrollment.token=sse_test-enrollment',
    '--server-side=false',
  );
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.match(upgrade.stdout, /STATUS: deployed\nREVISION: 2/);
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
    ['1 superseded', '2 deployed'],
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
