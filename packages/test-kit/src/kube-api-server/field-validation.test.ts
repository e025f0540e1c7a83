import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFields } from './field-validation';
import { KubeApiError } from './kube-status';
import { findResourceType } from './resource-types';

const DEPLOYMENTS = findResourceType('apps', 'v1', 'deployments')!;

const deployment = (container: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', labels: { app: 'd' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'd' } },
    template: {
      metadata: { labels: { app: 'd' } },
      spec: { containers: [{ name: 'main', image: 'x:1', ...container }] },
    },
  },
});

test('fields are checked against the Kubernetes schema, through lists and maps', () => {
  const good = deployment({
    env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    resources: { limits: { memory: '1Gi' } },
    readinessProbe: { tcpSocket: { port: 'vnc' } },
  });
  assert.deepEqual(validateFields(DEPLOYMENTS, good, 'Strict'), []);
  const typo = deployment({ readinessprobe: {}, env: [{ name: 'A', valeu: 'x' }] });
  assert.deepEqual(validateFields(DEPLOYMENTS, typo, 'Warn'), [
    'unknown field "spec.template.spec.containers[0].readinessprobe"',
    'unknown field "spec.template.spec.containers[0].env[0].valeu"',
  ]);
  assert.deepEqual(
    validateFields(DEPLOYMENTS, typo, null),
    validateFields(DEPLOYMENTS, typo, 'Warn'),
  );
  assert.deepEqual(validateFields(DEPLOYMENTS, typo, 'Ignore'), []);
  assert.throws(
    () => validateFields(DEPLOYMENTS, typo, 'Strict'),
    (error: unknown) =>
      error instanceof KubeApiError &&
      error.code === 400 &&
      /strict decoding error/.test(error.message),
  );
  // Strategic merge patch directives are not fields.
  const patch = {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'main' }] } } },
  };
  assert.deepEqual(validateFields(DEPLOYMENTS, patch, 'Strict'), []);
});
