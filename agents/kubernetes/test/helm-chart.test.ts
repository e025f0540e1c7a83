import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import {
  AGENT_MANIFEST,
  CHART,
  containerOf,
  envOf,
  find,
  helm,
  helmTemplate,
  parseObjects,
  PRODUCTION,
  removeHelmHome,
  renderChart,
  type K8sObject,
} from './helm-chart-render';

// The real helm (4.x, from the kube tools devDependency) renders the chart: what `helm install`
// would send to a cluster, `lookup` returning nothing as on a first install.

after(removeHelmHome);

test('helm lint passes with default and with production values, warnings included', async () => {
  for (const values of [[], ['--values', PRODUCTION]]) {
    const lint = await helm('lint', '--strict', CHART, ...values);
    assert.equal(lint.code, 0, `${values.join(' ')}: ${lint.stdout}${lint.stderr}`);
    assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(lint.stdout, /\[(ERROR|WARNING)\]/);
  }
});

test('default values render a control plane, bundled PostgreSQL and the agent', async () => {
  const objects = await renderChart();
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
  const role = find(await renderChart(), 'Role', '-agent')!;
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
  const objects = await renderChart([PRODUCTION]);
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
  const result = await helmTemplate([], ['postgresql.enabled=false']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /set database.url, database.existingSecret or postgresql.enabled/);
});

test('values.schema.json: a misspelt key or a value the services would refuse fails at once', async () => {
  const refused: Record<string, RegExp> = {
    // Silently ignored before: the user would get one replica and not know why.
    'controlPlane.replica=2': /at '\/controlPlane': additional properties 'replica' not allowed/,
    // The control plane refuses passwords under 8 characters at start (crash loop).
    'controlPlane.admin.password=short': /at '\/controlPlane\/admin\/password'/,
    'agent.streamMode=podip':
      /at '\/agent\/streamMode': value must be one of 'pod-ip', 'port-forward'/,
    'sessions.home.size=lots': /at '\/sessions\/home\/size'/,
  };
  for (const [set, message] of Object.entries(refused)) {
    const result = await helmTemplate([], [set]);
    assert.notEqual(result.code, 0, `${set} was accepted`);
    assert.match(result.stderr, message, set);
  }
  // What the docs suggest is accepted: `true` for trustProxy, a CIDR list, a token.
  for (const set of [
    'controlPlane.trustProxy=true',
    'controlPlane.trustProxy=10.0.0.0/8',
    'agent.enrollment.token=sse_x',
  ]) {
    const result = await helmTemplate([], [set]);
    assert.equal(result.code, 0, `${set}: ${result.stderr}`);
  }
});

test('production values: the objects, and an ingress that keeps WebSockets open over TLS', async () => {
  const objects = await renderChart([PRODUCTION]);
  assert.deepEqual(objects.map((object) => `${object.kind}/${object.metadata.name}`).sort(), [
    'Deployment/streamspace-streamspace-agent',
    'Deployment/streamspace-streamspace-control-plane',
    'Ingress/streamspace-streamspace',
    'Namespace/streamspace-sessions',
    'PersistentVolumeClaim/streamspace-streamspace-agent-state',
    'Role/streamspace-streamspace-agent',
    'RoleBinding/streamspace-streamspace-agent',
    'Secret/streamspace-streamspace',
    'Service/streamspace-streamspace',
    'ServiceAccount/streamspace-streamspace-agent',
  ]);
  const ingress = find(objects, 'Ingress', 'streamspace')!;
  // ingress-nginx closes idle proxied connections after 60 s: a quiet desktop would drop.
  assert.equal(
    ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-send-timeout'],
    '3600',
  );
  assert.deepEqual(ingress.spec, {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['streamspace.example.com'], secretName: 'streamspace-tls' }],
    rules: [
      {
        host: 'streamspace.example.com',
        http: {
          paths: [
            {
              // One prefix for the UI, /api and both WebSockets (/vnc/:id, agents/connect).
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'streamspace-streamspace', port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  });
  const service = find(objects, 'Service', 'streamspace-streamspace') as K8sObject & {
    spec: { ports: { name: string }[] };
  };
  assert.ok(
    service.spec.ports.some((port) => port.name === 'http'),
    'the port the ingress names',
  );
  // The agent's Role lives where the sessions are, and nowhere else.
  const roles = objects.filter((object) => object.kind === 'Role');
  assert.deepEqual(
    roles.map((role) => role.metadata.namespace),
    ['streamspace-sessions'],
  );
});

test('secrets given as values reach the pods only through secretKeyRef, never as plain env', async () => {
  const secrets = {
    'controlPlane.admin.password': 'admin-plaintext-7f3a',
    'postgresql.password': 'postgres-plaintext-91c2',
    'agent.enrollment.token': 'sse_enrollment-plaintext-55d0',
  };
  const rendered = await helmTemplate(
    [],
    Object.entries(secrets).map(([key, value]) => `${key}=${value}`),
  );
  assert.equal(rendered.code, 0, rendered.stderr);
  // Not in any object, in any form a reader of `kubectl get deploy -o yaml` would see.
  for (const value of Object.values(secrets)) {
    assert.doesNotMatch(rendered.stdout, new RegExp(value), 'only base64 in the Secret');
  }
  const objects = parseObjects(rendered.stdout, 'helm template --set secrets');
  const secret = find(objects, 'Secret', 'streamspace') as K8sObject & {
    data: Record<string, string>;
  };
  const decoded = (key: string) => Buffer.from(secret.data[key]!, 'base64').toString();
  assert.equal(decoded('admin-password'), secrets['controlPlane.admin.password']);
  assert.equal(decoded('postgres-password'), secrets['postgresql.password']);
  assert.equal(decoded('enrollment-token'), secrets['agent.enrollment.token']);

  const secretEnv: Record<string, [string, string]> = {
    STREAMSPACE_ADMIN_PASSWORD: ['-control-plane', 'admin-password'],
    STREAMSPACE_REPLICA_SECRET: ['-control-plane', 'replica-secret'],
    POSTGRES_PASSWORD: ['-control-plane', 'postgres-password'],
    STREAMSPACE_ENROLLMENT_TOKEN: ['-agent', 'enrollment-token'],
  };
  for (const [name, [workload, key]] of Object.entries(secretEnv)) {
    const env = envOf(containerOf(find(objects, 'Deployment', workload)));
    assert.equal(
      (env[name] as { secretKeyRef?: { key: string } } | undefined)?.secretKeyRef?.key,
      key,
      `${name} comes from the Secret`,
    );
  }
  const postgres = envOf(containerOf(find(objects, 'StatefulSet', '-postgresql')));
  assert.equal(
    (postgres.POSTGRES_PASSWORD as { secretKeyRef?: { key: string } }).secretKeyRef?.key,
    'postgres-password',
  );
});

test('helm install prints how to get the admin password and enroll the agent', async () => {
  // --dry-run=client renders NOTES.txt as `helm install` shows it, without a cluster.
  const install = await helm(
    'install',
    'streamspace',
    CHART,
    '--namespace',
    'streamspace',
    '--dry-run=client',
  );
  assert.equal(install.code, 0, install.stderr);
  const notes = install.stdout.slice(install.stdout.indexOf('NOTES:'));
  assert.match(
    notes,
    /kubectl -n streamspace get secret streamspace-streamspace -o jsonpath='\{\.data\.admin-password\}' \| base64 -d\n\nThe Kubernetes agent needs an enrollment token/,
  );
  assert.match(
    notes,
    /helm upgrade streamspace <chart> --reuse-values --set agent\.enrollment\.token=<token>\n\nSee docs\/kubernetes\.md/,
  );
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
