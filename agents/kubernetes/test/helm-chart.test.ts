import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { renderChart } from './render-chart';

const CHART = fileURLToPath(new URL('../../../deploy/helm/streamspace', import.meta.url));
const PRODUCTION = `${CHART}/values-production.yaml`;
const AGENT_MANIFEST = fileURLToPath(
  new URL('../../../deploy/kubernetes/agent.yaml', import.meta.url),
);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  [key: string]: unknown;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Every document must be YAML that parses to a Kubernetes object with kind and name. */
function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    assert.deepEqual(document.errors, [], `${source}: YAML errors`);
    const value = document.toJSON() as K8sObject | null;
    if (value === null) continue;
    assert.match(
      value.apiVersion ?? '',
      /^([a-z0-9.-]+\/)?v\d+(beta\d+|alpha\d+)?$/,
      `${source}: apiVersion`,
    );
    assert.match(value.kind ?? '', /^[A-Z][A-Za-z]+$/, `${source}: kind`);
    assert.match(value.metadata?.name ?? '', DNS_SUBDOMAIN, `${source}: metadata.name`);
    assert.ok(value.metadata.name.length <= 63, `${source}: name fits a label`);
    objects.push(value);
  }
  return objects;
}

async function render(overrides: string[]): Promise<K8sObject[]> {
  const files = await renderChart(CHART, overrides);
  return [...files].flatMap(([file, text]) => parseObjects(text, file));
}

const find = (objects: K8sObject[], kind: string, suffix: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name.endsWith(suffix));

type Container = {
  name: string;
  args?: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
};
const containerOf = (deployment: K8sObject | undefined): Container =>
  (deployment?.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0]!;

test('default values render a control plane, bundled PostgreSQL and the agent', async () => {
  const objects = await render([]);
  const kinds = objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'Deployment/streamspace-streamspace-agent',
    'Deployment/streamspace-streamspace-control-plane',
    'PersistentVolumeClaim/streamspace-streamspace-agent-state',
    'Role/streamspace-streamspace-agent',
    'RoleBinding/streamspace-streamspace-agent',
    'Secret/streamspace-streamspace',
    'Service/streamspace-streamspace',
    'Service/streamspace-streamspace-postgresql',
    'ServiceAccount/streamspace-streamspace-agent',
    'StatefulSet/streamspace-streamspace-postgresql',
  ]);
  const controlPlane = containerOf(find(objects, 'Deployment', '-control-plane'));
  const url = controlPlane.env.find((entry) => entry.name === 'DATABASE_URL')?.value;
  assert.equal(
    url,
    'postgres://streamspace:$(POSTGRES_PASSWORD)@streamspace-streamspace-postgresql:5432/streamspace',
  );
  const secret = find(objects, 'Secret', 'streamspace') as K8sObject & {
    data: Record<string, string>;
  };
  assert.match(
    Buffer.from(secret.data['postgres-password']!, 'base64').toString(),
    /^[A-Za-z0-9]{32}$/,
  );
  assert.match(
    Buffer.from(secret.data['admin-password']!, 'base64').toString(),
    /^[A-Za-z0-9]{24}$/,
  );
  // A generated replica secret, so `kubectl scale` to more replicas routes viewers at once.
  assert.match(
    Buffer.from(secret.data['replica-secret']!, 'base64').toString(),
    /^[A-Za-z0-9]{48}$/,
  );
  assert.deepEqual(
    controlPlane.env.find((entry) => entry.name === 'STREAMSPACE_REPLICA_SECRET')?.valueFrom,
    { secretKeyRef: { name: 'streamspace-streamspace', key: 'replica-secret' } },
  );

  const agent = containerOf(find(objects, 'Deployment', '-agent'));
  assert.deepEqual(agent.args, ['kubernetes']);
  const env = Object.fromEntries(
    agent.env.map((entry) => [entry.name, entry.value ?? entry.valueFrom]),
  );
  assert.equal(env.STREAMSPACE_URL, 'http://streamspace-streamspace.streamspace.svc:80');
  assert.equal(
    env.STREAMSPACE_NAMESPACE,
    'streamspace',
    'sessions default to the release namespace',
  );
  assert.deepEqual(env.STREAMSPACE_ENROLLMENT_TOKEN, {
    secretKeyRef: { name: 'streamspace-streamspace', key: 'enrollment-token', optional: true },
  });
  const podLabels = (
    find(objects, 'Deployment', '-agent')!.spec as {
      template: { metadata: { labels: Record<string, string> } };
    }
  ).template.metadata.labels;
  assert.equal(
    podLabels['app.kubernetes.io/name'],
    'streamspace-agent',
    'the label session NetworkPolicies admit',
  );
});

test('the agent Role is least privilege: only what the driver calls, no wildcards', async () => {
  const role = find(await render([]), 'Role', '-agent')!;
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] },
    {
      apiGroups: [''],
      resources: ['persistentvolumeclaims'],
      verbs: ['get', 'list', 'create', 'delete'],
    },
    {
      apiGroups: [''],
      resources: ['secrets'],
      verbs: ['get', 'list', 'create', 'update', 'delete'],
    },
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['networkpolicies'],
      verbs: ['get', 'list', 'create', 'delete'],
    },
  ]);
  assert.doesNotMatch(JSON.stringify(role.rules), /\*/);
});

test('production values: two replicas, external database, WebSocket ingress, session namespace', async () => {
  const objects = await render([PRODUCTION]);
  assert.equal(find(objects, 'StatefulSet', '-postgresql'), undefined, 'no bundled PostgreSQL');
  const controlPlane = find(objects, 'Deployment', '-control-plane')!;
  assert.equal((controlPlane.spec as { replicas: number }).replicas, 2);
  // Replicas route viewers to each other on their pod IPs, with the secret from a Secret.
  const replicaEnv = Object.fromEntries(
    containerOf(controlPlane).env.map((entry) => [entry.name, entry.value ?? entry.valueFrom]),
  );
  assert.deepEqual(replicaEnv.STREAMSPACE_REPLICA_SECRET, {
    secretKeyRef: { name: 'streamspace-replica', key: 'replica-secret' },
  });
  assert.deepEqual(replicaEnv.POD_IP, { fieldRef: { fieldPath: 'status.podIP' } });
  assert.equal(replicaEnv.STREAMSPACE_REPLICA_URL, 'http://$(POD_IP):8080');
  const productionSecret = find(objects, 'Secret', 'streamspace') as K8sObject & {
    data: Record<string, string> | null;
  };
  assert.equal(productionSecret.data?.['replica-secret'], undefined, 'the existing one is used');
  const database = containerOf(controlPlane).env.find((entry) => entry.name === 'DATABASE_URL');
  assert.deepEqual(database?.valueFrom, {
    secretKeyRef: { name: 'streamspace-database', key: 'url' },
  });
  const admin = containerOf(controlPlane).env.find(
    (entry) => entry.name === 'STREAMSPACE_ADMIN_PASSWORD',
  );
  assert.deepEqual(admin?.valueFrom, {
    secretKeyRef: { name: 'streamspace-admin', key: 'admin-password' },
  });

  const ingress = find(objects, 'Ingress', 'streamspace')!;
  assert.equal(
    ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'],
    '3600',
  );
  assert.equal((ingress.spec as { ingressClassName: string }).ingressClassName, 'nginx');
  const namespace = find(objects, 'Namespace', 'streamspace-sessions');
  assert.equal(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  assert.equal(find(objects, 'Role', '-agent')?.metadata.namespace, 'streamspace-sessions');
  const binding = find(objects, 'RoleBinding', '-agent') as K8sObject & {
    subjects: { namespace: string }[];
  };
  assert.equal(
    binding.subjects[0]?.namespace,
    'streamspace',
    'the agent itself stays in the release namespace',
  );
  const env = containerOf(find(objects, 'Deployment', '-agent')).env;
  assert.equal(env.find((entry) => entry.name === 'STREAMSPACE_STORAGE_CLASS')?.value, 'fast-ssd');
});

test('a database is required when the bundled PostgreSQL is off', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'streamspace-chart-'));
  try {
    const overrides = join(dir, 'no-db.yaml');
    await writeFile(overrides, 'postgresql:\n  enabled: false\n');
    await assert.rejects(
      renderChart(CHART, [overrides]),
      /set database.url, database.existingSecret or postgresql.enabled/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the plain agent manifests parse and bind the agent to a least-privilege Role', async () => {
  const objects = parseObjects(
    await readFile(AGENT_MANIFEST, 'utf8'),
    'deploy/kubernetes/agent.yaml',
  );
  const kinds = objects.map((object) => object.kind).sort();
  assert.deepEqual(kinds, [
    'Deployment',
    'Namespace',
    'PersistentVolumeClaim',
    'Role',
    'RoleBinding',
    'Secret',
    'ServiceAccount',
  ]);
  assert.doesNotMatch(JSON.stringify(find(objects, 'Role', 'agent')?.rules), /\*/);
  assert.deepEqual(containerOf(find(objects, 'Deployment', 'agent')).args, ['kubernetes']);
});
