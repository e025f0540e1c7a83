import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Pod,
} from '@kubernetes/client-node';
import { waitFor } from '../wait-for';
import {
  createKubeApiHttpServer,
  kubeconfigFor,
  type KubeApiHttpServer,
} from './kube-api-http-server';

let server: KubeApiHttpServer;
let core: CoreV1Api;
let networking: NetworkingV1Api;
let kc: KubeConfig;

before(async () => {
  server = await createKubeApiHttpServer({
    token: 'test-token',
    namespaces: ['default', 'sessions'],
  });
  kc = new KubeConfig();
  kc.loadFromString(kubeconfigFor(server.url, 'sessions', 'test-token'));
  core = kc.makeApiClient(CoreV1Api);
  networking = kc.makeApiClient(NetworkingV1Api);
});

after(async () => {
  await server.close();
});

function pod(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'none:1' }] } };
}

async function statusOf(
  promise: Promise<unknown>,
): Promise<{ code: number; reason: string; causes?: unknown[] }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiException, `expected an ApiException, got ${String(error)}`);
    // The generated client leaves the body of codes its spec does not list (401) unparsed.
    if (error.code === 401) return { code: 401, reason: 'Unauthorized' };
    const body = JSON.parse(error.body as string) as {
      kind: string;
      reason: string;
      details?: { causes?: unknown[] };
    };
    assert.equal(body.kind, 'Status');
    return { code: error.code, reason: body.reason, causes: body.details?.causes };
  }
  assert.fail('expected the request to fail');
}

test('a wrong bearer token is refused with 401', async () => {
  const other = new KubeConfig();
  other.loadFromString(kubeconfigFor(server.url, 'sessions', 'wrong'));
  const status = await statusOf(
    other.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'sessions' }),
  );
  assert.equal(status.code, 401);
});

test('create, get, list by label selector, patch and delete with resource versions', async () => {
  const created = await core.createNamespacedPod({
    namespace: 'sessions',
    body: pod('crud-a', { app: 'desk', user: 'u1' }),
  });
  await core.createNamespacedPod({
    namespace: 'sessions',
    body: pod('crud-b', { app: 'desk', user: 'u2' }),
  });
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('crud-c', { app: 'other' }) });
  assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
  assert.ok(created.metadata?.uid);
  assert.equal(created.status?.phase, 'Pending');

  const names = async (labelSelector: string): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace: 'sessions', labelSelector })).items
      .map((p) => p.metadata!.name!)
      .sort();
  assert.deepEqual(await names('app=desk'), ['crud-a', 'crud-b']);
  assert.deepEqual(await names('app!=desk'), ['crud-c']);
  assert.deepEqual(await names('user in (u2,u3)'), ['crud-b']);
  assert.deepEqual(await names('user notin (u2)'), ['crud-a', 'crud-c']);
  assert.deepEqual(await names('user'), ['crud-a', 'crud-b']);
  assert.deepEqual(await names('!user'), ['crud-c']);
  const list = await core.listNamespacedPod({ namespace: 'sessions' });
  assert.ok(Number(list.metadata?.resourceVersion) >= Number(created.metadata?.resourceVersion));

  const merged = await core.patchNamespacedPod(
    {
      name: 'crud-a',
      namespace: 'sessions',
      body: { metadata: { labels: { user: null, hibernated: 'true' } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.deepEqual(merged.metadata?.labels, { app: 'desk', hibernated: 'true' });
  assert.ok(Number(merged.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
  const strategic = await core.patchNamespacedPod(
    {
      name: 'crud-a',
      namespace: 'sessions',
      body: { spec: { containers: [{ name: 'main', image: 'none:2' }] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  assert.equal(strategic.spec?.containers[0]?.image, 'none:2');
  assert.equal(strategic.spec?.containers.length, 1);

  const stale = { ...created, metadata: { ...created.metadata, labels: { stale: 'yes' } } };
  const conflict = await statusOf(
    core.replaceNamespacedPod({ name: 'crud-a', namespace: 'sessions', body: stale }),
  );
  assert.deepEqual([conflict.code, conflict.reason], [409, 'Conflict']);

  await core.deleteNamespacedPod({ name: 'crud-a', namespace: 'sessions' });
  const gone = await statusOf(core.readNamespacedPod({ name: 'crud-a', namespace: 'sessions' }));
  assert.deepEqual([gone.code, gone.reason], [404, 'NotFound']);
  await core.deleteCollectionNamespacedPod({ namespace: 'sessions', labelSelector: 'app' });
  assert.deepEqual(await names(''), []);
});

test('errors are metav1.Status: AlreadyExists, Invalid with causes, missing namespace', async () => {
  await core.createNamespacedSecret({
    namespace: 'sessions',
    body: { metadata: { name: 'vnc' }, stringData: { password: 'hunter22' } },
  });
  const secret = await core.readNamespacedSecret({ name: 'vnc', namespace: 'sessions' });
  assert.equal(Buffer.from(secret.data!.password!, 'base64').toString(), 'hunter22');
  const exists = await statusOf(
    core.createNamespacedSecret({ namespace: 'sessions', body: { metadata: { name: 'vnc' } } }),
  );
  assert.deepEqual([exists.code, exists.reason], [409, 'AlreadyExists']);

  const invalid = await statusOf(
    core.createNamespacedPod({
      namespace: 'sessions',
      body: { metadata: { name: 'Bad_Name' }, spec: { containers: [] } },
    }),
  );
  assert.deepEqual([invalid.code, invalid.reason], [422, 'Invalid']);
  assert.deepEqual((invalid.causes as { field: string }[]).map((cause) => cause.field).sort(), [
    'metadata.name',
    'spec.containers',
  ]);
  const claim = await statusOf(
    core.createNamespacedPersistentVolumeClaim({
      namespace: 'sessions',
      body: { metadata: { name: 'home-x' }, spec: {} },
    }),
  );
  assert.equal(claim.code, 422);
  const noNamespace = await statusOf(
    core.createNamespacedPod({ namespace: 'nowhere', body: pod('p', {}) }),
  );
  assert.deepEqual([noNamespace.code, noNamespace.reason], [404, 'NotFound']);

  const policy = await networking.createNamespacedNetworkPolicy({
    namespace: 'sessions',
    body: {
      metadata: { name: 'only-agent' },
      spec: { podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Ingress'] },
    },
  });
  assert.equal(policy.apiVersion, 'networking.k8s.io/v1');
  const badPolicy = await statusOf(
    networking.createNamespacedNetworkPolicy({
      namespace: 'sessions',
      body: { metadata: { name: 'np' }, spec: {} as never },
    }),
  );
  assert.equal(badPolicy.code, 422);
});

test('watch streams ADDED, MODIFIED and DELETED from a resourceVersion, filtered by labels', async () => {
  const start = (await core.listNamespacedPod({ namespace: 'sessions' })).metadata!
    .resourceVersion!;
  const seen: string[] = [];
  const request = await new Watch(kc).watch(
    '/api/v1/namespaces/sessions/pods',
    { resourceVersion: start, labelSelector: 'watched=yes' },
    (type, object: V1Pod) =>
      seen.push(`${type} ${object.metadata?.name} ${object.metadata?.labels?.step ?? ''}`),
    () => {},
  );
  await core.createNamespacedPod({
    namespace: 'sessions',
    body: pod('w1', { watched: 'yes', step: '1' }),
  });
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('w2', { watched: 'no' }) });
  await core.patchNamespacedPod(
    { name: 'w1', namespace: 'sessions', body: { metadata: { labels: { step: '2' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  // Leaving the selector is a DELETED for this watcher, as the apiserver's watch cache reports.
  await core.patchNamespacedPod(
    { name: 'w2', namespace: 'sessions', body: { metadata: { labels: { watched: 'yes' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await core.deleteNamespacedPod({ name: 'w1', namespace: 'sessions' });
  await waitFor('five watch events', () => seen.length >= 4 && seen);
  request.abort();
  assert.deepEqual(seen, ['ADDED w1 1', 'MODIFIED w1 2', 'ADDED w2 ', 'DELETED w1 2']);
  await core.deleteNamespacedPod({ name: 'w2', namespace: 'sessions' });
});

test('a watch from a compacted resourceVersion gets an ERROR event with 410 Expired', async () => {
  const old = (await core.listNamespacedPod({ namespace: 'sessions' })).metadata!.resourceVersion!;
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('compacted', {}) });
  server.api.store.compact();
  const events: { type: string; code?: number; reason?: string }[] = [];
  let ended = false;
  await new Watch(kc).watch(
    '/api/v1/namespaces/sessions/pods',
    { resourceVersion: old },
    (type, object: { code?: number; reason?: string }) =>
      events.push({ type, code: object.code, reason: object.reason }),
    () => {
      ended = true;
    },
  );
  await waitFor('the watch to end', () => ended);
  assert.deepEqual(events, [{ type: 'ERROR', code: 410, reason: 'Expired' }]);
  await core.deleteNamespacedPod({ name: 'compacted', namespace: 'sessions' });
});

test('an informer lists, watches, and re-lists after 410 when the server ends its watch', async () => {
  const informer = makeInformer(
    kc,
    '/api/v1/namespaces/sessions/pods',
    () => core.listNamespacedPod({ namespace: 'sessions', labelSelector: 'inf=1' }),
    'inf=1',
  );
  const added: string[] = [];
  const deleted: string[] = [];
  informer.on('add', (object) => added.push(object.metadata!.name!));
  informer.on('delete', (object) => deleted.push(object.metadata!.name!));
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('inf-a', { inf: '1' }) });
  await informer.start();
  await waitFor('the informer to list inf-a', () => added.includes('inf-a'));
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('inf-b', { inf: '1' }) });
  await waitFor('the informer to see inf-b', () => added.includes('inf-b'));

  // End the watch while things change, with its resourceVersion too old to resume from.
  await waitFor('the informer watch', () => server.openWatches() === 1);
  const watchesBefore = server.requestLog.filter((entry) => entry.watch).length;
  await core.deleteNamespacedPod({ name: 'inf-a', namespace: 'sessions' });
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('inf-c', { inf: '1' }) });
  server.api.store.compact();
  assert.equal(server.dropWatches({ abrupt: false }), 1);
  await waitFor('the informer to re-list and see inf-c', () => added.includes('inf-c'), {
    timeoutMs: 15_000,
  });
  await waitFor('the informer to notice inf-a went away', () => deleted.includes('inf-a'));
  assert.ok(server.requestLog.filter((entry) => entry.watch).length > watchesBefore);
  await informer.stop();
  await core.deleteCollectionNamespacedPod({ namespace: 'sessions', labelSelector: 'inf=1' });
});

test('bookmarks carry the current resourceVersion, and a watch resumes from one after compaction', async () => {
  const start = (await core.listNamespacedPod({ namespace: 'sessions' })).metadata!
    .resourceVersion!;
  await core.createNamespacedConfigMap({
    namespace: 'sessions',
    body: { metadata: { name: 'churn' } },
  });
  const latest = (await core.listNamespacedConfigMap({ namespace: 'sessions' })).metadata!
    .resourceVersion!;
  let bookmark: string | undefined;
  const request = await new Watch(kc).watch(
    '/api/v1/namespaces/sessions/pods',
    { resourceVersion: start, allowWatchBookmarks: true },
    (type, object: { metadata?: { resourceVersion?: string } }) => {
      if (type === 'BOOKMARK') bookmark = object.metadata?.resourceVersion;
    },
    () => {},
  );
  await waitFor('a bookmark', () => bookmark);
  request.abort();
  assert.ok(Number(bookmark) >= Number(latest), 'the bookmark covers changes of other kinds');
  server.api.store.compact();
  const events: string[] = [];
  const resumed = await new Watch(kc).watch(
    '/api/v1/namespaces/sessions/pods',
    { resourceVersion: bookmark },
    (type) => events.push(type),
    () => {},
  );
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('after-bookmark', {}) });
  await waitFor('the event after the bookmark', () => events.length > 0);
  resumed.abort();
  assert.deepEqual(events, ['ADDED'], 'no 410: the bookmark was recent enough');
  await core.deleteNamespacedPod({ name: 'after-bookmark', namespace: 'sessions' });
});

test('a watch list sends the current objects, a bookmark that ends them, then changes', async () => {
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('listed', { list: 'yes' }) });
  const events: { type: string; name?: string; annotations?: Record<string, string> }[] = [];
  const request = await new Watch(kc).watch(
    '/api/v1/namespaces/sessions/pods',
    {
      labelSelector: 'list=yes',
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: true,
    },
    (type, object: { metadata?: { name?: string; annotations?: Record<string, string> } }) =>
      events.push({ type, name: object.metadata?.name, annotations: object.metadata?.annotations }),
    () => {},
  );
  await waitFor('the end of the initial events', () => events.length >= 2);
  await core.createNamespacedPod({ namespace: 'sessions', body: pod('later', { list: 'yes' }) });
  await waitFor('the change after them', () => events.length >= 3);
  request.abort();
  assert.deepEqual(events.slice(0, 3), [
    { type: 'ADDED', name: 'listed', annotations: undefined },
    { type: 'BOOKMARK', name: undefined, annotations: { 'k8s.io/initial-events-end': 'true' } },
    { type: 'ADDED', name: 'later', annotations: undefined },
  ]);
  // As the apiserver: a watch list needs NotOlderThan and bookmarks, else 422.
  const refused = await fetch(
    `${server.url}/api/v1/namespaces/sessions/pods?watch=1&sendInitialEvents=true`,
    { headers: { Authorization: 'Bearer test-token' } },
  );
  assert.equal(refused.status, 422);
  for (const name of ['listed', 'later']) {
    await core.deleteNamespacedPod({ name, namespace: 'sessions', gracePeriodSeconds: 0 });
  }
});

test('discovery: aggregated (apidiscovery.k8s.io/v2) when asked for, legacy otherwise', async () => {
  const aggregated = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
  const discover = (path: string, accept: string) =>
    fetch(`${server.url}${path}`, {
      headers: { Authorization: 'Bearer test-token', Accept: accept },
    });
  // client-go's Accept: the aggregated form first, plain JSON as the fallback.
  const apis = await discover('/apis', `${aggregated},application/json`);
  assert.equal(apis.headers.get('content-type'), aggregated);
  const list = (await apis.json()) as {
    kind: string;
    items: {
      metadata: { name: string };
      versions: { version: string; resources: { resource: string; scope: string }[] }[];
    }[];
  };
  assert.equal(list.kind, 'APIGroupDiscoveryList');
  const networkingGroup = list.items.find((item) => item.metadata.name === 'networking.k8s.io');
  assert.ok(
    networkingGroup?.versions[0]?.resources.some(
      (resource) => resource.resource === 'networkpolicies' && resource.scope === 'Namespaced',
    ),
  );
  const coreGroup = (await (await discover('/api', aggregated)).json()) as {
    items: { versions: { resources: { resource: string; subresources?: unknown[] }[] }[] }[];
  };
  const pods = coreGroup.items[0]?.versions[0]?.resources.find((r) => r.resource === 'pods');
  assert.equal(pods?.subresources?.length, 2, 'pods/status and pods/portforward');
  const legacy = await discover('/apis', 'application/json, */*');
  assert.equal(legacy.headers.get('content-type'), 'application/json');
  assert.equal(((await legacy.json()) as { kind: string }).kind, 'APIGroupList');
});
