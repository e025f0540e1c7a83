import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKubeApiHttpServer, type KubeApiHttpServer } from './kube-api-http-server';
import type { KubeObject } from './kube-object';
import type { WatchEventType } from './object-store';

// Server-side apply as kubectl and Helm 4 send it: PATCH with application/apply-patch+yaml and
// ?fieldManager=, against the HTTP server. What the real tools do is in
// agents/kubernetes/test/helm-chart-*.test.ts.

let server: KubeApiHttpServer;

before(async () => {
  server = await createKubeApiHttpServer({ namespaces: ['default', 'apply'] });
});

after(async () => {
  await server.close();
});

interface Reply {
  status: number;
  body: KubeObject & {
    reason?: string;
    message?: string;
    details?: { causes?: { reason: string; message: string; field: string }[] };
  };
}

const CONFIGMAPS = '/api/v1/namespaces/apply/configmaps';

async function call(
  method: string,
  path: string,
  body?: string | object,
  contentType = 'application/json',
): Promise<Reply> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'Content-Type': contentType },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

const apply = (path: string, body: string | object, query: string) =>
  call('PATCH', `${path}?${query}`, body, 'application/apply-patch+yaml');

const mergePatch = (path: string, body: object, query = '') =>
  call('PATCH', `${path}?${query}`, body, 'application/merge-patch+json');

const configMap = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

const owners = (object: KubeObject) =>
  (object.metadata.managedFields as { manager: string; operation: string; fieldsV1: unknown }[])
    .map((entry) => `${entry.manager} ${entry.operation} ${JSON.stringify(entry.fieldsV1)}`)
    .sort();

/** The watch events the store sends while `action` runs. */
async function eventsDuring(action: () => Promise<unknown>): Promise<WatchEventType[]> {
  const events: WatchEventType[] = [];
  const stop = server.api.store.subscribe((event) => events.push(event.type));
  try {
    await action();
  } finally {
    stop();
  }
  return events;
}

test('apply creates a missing object (201, ADDED); a re-apply that changes nothing writes nothing', async () => {
  const path = `${CONFIGMAPS}/created`;
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\ndata:\n  a: "1"\n';
  let created!: Reply;
  const added = await eventsDuring(async () => {
    created = await apply(path, yaml, 'fieldManager=ci');
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(added, ['ADDED']);
  assert.deepEqual(created.body.data, { a: '1' });
  assert.ok(created.body.metadata.uid);
  const [entry] = created.body.metadata.managedFields as Record<string, unknown>[];
  assert.deepEqual(
    { ...entry, time: undefined },
    {
      manager: 'ci',
      operation: 'Apply',
      apiVersion: 'v1',
      time: undefined,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:a': {} } },
    },
  );

  let again!: Reply;
  const none = await eventsDuring(async () => {
    again = await apply(path, yaml, 'fieldManager=ci');
  });
  assert.equal(again.status, 200);
  assert.deepEqual(none, [], 'no watch event');
  assert.equal(again.body.metadata.resourceVersion, created.body.metadata.resourceVersion);

  const modified = await eventsDuring(() =>
    apply(path, configMap('created', { a: '2' }), 'fieldManager=ci'),
  );
  assert.deepEqual(modified, ['MODIFIED']);
});

test('a re-apply removes the fields its manager dropped and keeps other managers’ fields', async () => {
  const path = `${CONFIGMAPS}/shared`;
  assert.equal(
    (await apply(path, configMap('shared', { a: '1', b: '2' }), 'fieldManager=ci')).status,
    201,
  );
  const patched = await mergePatch(path, { data: { c: '3' } }, 'fieldManager=ops');
  assert.equal(patched.status, 200);
  const reapplied = await apply(path, configMap('shared', { a: '1' }), 'fieldManager=ci');
  assert.equal(reapplied.status, 200);
  assert.deepEqual(reapplied.body.data, { a: '1', c: '3' }, 'b dropped, c is ops’s');
  assert.deepEqual(owners(reapplied.body), [
    'ci Apply {"f:data":{"f:a":{}}}',
    'ops Update {"f:data":{"f:c":{}}}',
  ]);
  // A second applier of the same value shares the field, so ci's dropping it keeps it.
  await apply(path, configMap('shared', { a: '1' }), 'fieldManager=gitops');
  const dropped = await apply(path, configMap('shared', {}), 'fieldManager=ci');
  assert.deepEqual(dropped.body.data, { a: '1', c: '3' });
});

test('a field another manager set differently is a 409 Conflict, unless force=true', async () => {
  const path = `${CONFIGMAPS}/contested`;
  await apply(path, configMap('contested', { a: '1', b: '1' }), 'fieldManager=ci');
  await mergePatch(path, { data: { a: '2', b: '2' } }, 'fieldManager=ops');

  const refused = await apply(path, configMap('contested', { a: '1' }), 'fieldManager=ci');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.reason, 'Conflict');
  assert.equal(
    refused.body.message,
    'Apply failed with 1 conflict: conflict with "ops" using v1: .data.a',
  );
  assert.deepEqual(refused.body.details?.causes, [
    { reason: 'FieldManagerConflict', message: 'conflict with "ops" using v1', field: '.data.a' },
  ]);
  const two = await apply(path, configMap('contested', { a: '1', b: '1' }), 'fieldManager=ci');
  assert.equal(
    two.body.message,
    'Apply failed with 2 conflicts: conflicts with "ops" using v1:\n- .data.a\n- .data.b',
  );

  const forced = await apply(
    path,
    configMap('contested', { a: '1' }),
    'fieldManager=ci&force=true',
  );
  assert.equal(forced.status, 200);
  assert.deepEqual(forced.body.data, { a: '1', b: '2' });
  assert.deepEqual(owners(forced.body), [
    'ci Apply {"f:data":{"f:a":{}}}',
    'ops Update {"f:data":{"f:b":{}}}',
  ]);
});

test('apply needs a fieldManager, and is checked as a create or update is', async () => {
  const path = `${CONFIGMAPS}/checked`;
  const missing = await apply(path, configMap('checked', {}), '');
  assert.equal(missing.status, 422);
  assert.equal(
    missing.body.message,
    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
  );
  const forceOnMerge = await mergePatch(path, {}, 'force=true');
  assert.equal(forceOnMerge.status, 422);
  assert.match(
    forceOnMerge.body.message!,
    /force: Forbidden: may not be specified for non-apply patch/,
  );

  const strict = await apply(
    path,
    { ...configMap('checked', {}), dta: {} },
    'fieldManager=ci&fieldValidation=Strict',
  );
  assert.equal(strict.status, 400);
  assert.match(strict.body.message!, /strict decoding error: unknown field "dta"/);
  const service = await apply(
    '/api/v1/namespaces/apply/services/noports',
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'noports' }, spec: {} },
    'fieldManager=ci',
  );
  assert.equal(service.status, 422);
  assert.equal(service.body.reason, 'Invalid');
  const badYaml = await apply(path, 'data: [unclosed', 'fieldManager=ci');
  assert.equal(badYaml.status, 400);
  assert.match(badYaml.body.message!, /^error decoding YAML/);
  const renamed = await apply(path, configMap('other', {}), 'fieldManager=ci');
  assert.equal(renamed.status, 400);
  assert.equal((await call('GET', path)).status, 404, 'nothing was created');
});

test('server-set fields survive a re-apply: uid, status, a defaulted clusterIP; stringData is no change', async () => {
  const path = '/api/v1/namespaces/apply/services/web';
  const service = (port: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { ports: [{ port }] },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  });
  const created = await apply(path, service(80), 'fieldManager=ci');
  assert.equal(created.status, 201);
  const clusterIP = (created.body.spec as { clusterIP?: string }).clusterIP;
  assert.ok(clusterIP);
  assert.deepEqual(created.body.status, { loadBalancer: {} }, 'an applied status is ignored');
  // An applied null means "not set" here (a template with an empty value renders one).
  const changed = await apply(
    path,
    { ...service(8080), metadata: { name: 'web', labels: { app: 'web' }, annotations: null } },
    'fieldManager=ci',
  );
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.metadata.annotations, undefined);
  assert.equal(changed.body.metadata.uid, created.body.metadata.uid);
  assert.equal(changed.body.metadata.creationTimestamp, created.body.metadata.creationTimestamp);
  assert.deepEqual(changed.body.spec, { ports: [{ port: 8080 }], type: 'ClusterIP', clusterIP });
  assert.deepEqual(changed.body.status, { loadBalancer: {} });

  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'token' },
    stringData: { token: 'abc' },
  };
  const first = await apply('/api/v1/namespaces/apply/secrets/token', secret, 'fieldManager=ci');
  assert.deepEqual(first.body.data, { token: Buffer.from('abc').toString('base64') });
  const second = await apply('/api/v1/namespaces/apply/secrets/token', secret, 'fieldManager=ci');
  assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
});

test('dryRun=All answers as the apply (or create, patch, delete) would and stores nothing', async () => {
  const path = `${CONFIGMAPS}/dry`;
  const dry = await apply(path, configMap('dry', { a: '1' }), 'fieldManager=ci&dryRun=All');
  assert.equal(dry.status, 201);
  assert.deepEqual(dry.body.data, { a: '1' });
  assert.equal((await call('GET', path)).status, 404);
  await apply(path, configMap('dry', { a: '1' }), 'fieldManager=ci');
  const update = await apply(path, configMap('dry', { a: '2' }), 'fieldManager=ci&dryRun=All');
  assert.deepEqual(update.body.data, { a: '2' });
  assert.deepEqual((await call('GET', path)).body.data, { a: '1' });
  const unknown = await apply(path, configMap('dry', {}), 'fieldManager=ci&dryRun=Some');
  assert.equal(unknown.status, 422);

  // What `kubectl diff` and `--dry-run=server` send with the other verbs.
  const versionOf = async () => (await call('GET', path)).body.metadata.resourceVersion;
  const version = await versionOf();
  const created = await call('POST', `${CONFIGMAPS}?dryRun=All`, configMap('dry-created', {}));
  assert.equal(created.status, 201);
  assert.equal((await call('GET', `${CONFIGMAPS}/dry-created`)).status, 404);
  const patched = await mergePatch(path, { data: { a: '3' } }, 'dryRun=All');
  assert.deepEqual(patched.body.data, { a: '3' });
  const deleted = await call('DELETE', path, { dryRun: ['All'] });
  assert.equal(deleted.status, 200);
  assert.equal(await versionOf(), version, 'nothing was written');
  assert.equal((await call('POST', `${CONFIGMAPS}?dryRun=1`, configMap('x', {}))).status, 422);
});

test('writes without apply record an Update owner, named by fieldManager or the User-Agent', async () => {
  const created = await call('POST', CONFIGMAPS, configMap('updated', { a: '1' }));
  // Node's fetch sends `User-Agent: node`.
  assert.deepEqual(owners(created.body), ['node Update {"f:data":{"f:a":{}}}']);
  const patched = await mergePatch(
    `${CONFIGMAPS}/updated`,
    { data: { b: '2' } },
    'fieldManager=ops',
  );
  assert.deepEqual(owners(patched.body), [
    'node Update {"f:data":{"f:a":{}}}',
    'ops Update {"f:data":{"f:b":{}}}',
  ]);
  const replaced = await call('PUT', `${CONFIGMAPS}/updated?fieldManager=ops`, {
    ...configMap('updated', { b: '2' }),
  });
  assert.deepEqual(owners(replaced.body), ['ops Update {"f:data":{"f:b":{}}}'], 'a is gone');
});
