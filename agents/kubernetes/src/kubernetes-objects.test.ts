import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionSpec } from '@streamspace/protocol';
import {
  homeClaim,
  sessionNetworkPolicy,
  sessionPod,
  vncSecret,
  type ObjectContext,
} from './kubernetes-objects';

const spec: SessionSpec = {
  sessionId: '6f1c2b1e-8d4a-4c3e-9b7a-2f5d8e1a0c93',
  userId: '0b8e7d6c-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
  templateId: 'firefox',
  image: 'registry.example/streamspace/firefox:1.2',
  app: ['firefox', '--kiosk'],
  windowManager: 'openbox',
  resources: { cpuMillis: 1500, memoryMb: 2048 },
  geometry: { width: 1280, height: 800 },
  homeKey: 'alice',
  vncPassword: 'pw-123456',
  vncPort: 5900,
  env: { LANG: 'en_US.UTF-8' },
};

const context: ObjectContext = {
  scope: 'eu-1',
  storageClassName: 'fast-ssd',
  homeAccessMode: 'ReadWriteOnce',
  homeSize: '20Gi',
  agentPodLabels: { 'app.kubernetes.io/name': 'streamspace-agent' },
  agentNamespace: 'streamspace',
  stopGraceSeconds: 10,
  shmSizeMb: 512,
  imagePullSecrets: ['regcred'],
};

const labels = {
  'app.kubernetes.io/managed-by': 'streamspace',
  'app.kubernetes.io/name': 'streamspace-session',
  'app.kubernetes.io/component': 'session',
  'streamspace.io/scope': 'eu-1',
  'streamspace.io/session-id': spec.sessionId,
  'streamspace.io/user-id': spec.userId,
  'streamspace.io/template-id': 'firefox',
  'streamspace.io/home': 'alice',
};

test('the session pod: image, args, resources, security context, labels, volumes', () => {
  assert.deepEqual(sessionPod(spec, context), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `ss-${spec.sessionId}`,
      labels,
      annotations: { 'streamspace.io/vnc-port': '5900', 'streamspace.io/template-id': 'firefox' },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      imagePullSecrets: [{ name: 'regcred' }],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'session',
          image: 'registry.example/streamspace/firefox:1.2',
          imagePullPolicy: 'IfNotPresent',
          args: ['firefox', '--kiosk'],
          env: [
            { name: 'LANG', value: 'en_US.UTF-8' },
            { name: 'STREAMSPACE_GEOMETRY', value: '1280x800' },
            { name: 'STREAMSPACE_WM', value: 'openbox' },
            { name: 'STREAMSPACE_VNC_PORT', value: '5900' },
            { name: 'STREAMSPACE_VNC_PASSWORD_FILE', value: '/run/streamspace/vncpasswd' },
            { name: 'STREAMSPACE_STOP_GRACE_SECONDS', value: '8' },
          ],
          ports: [{ name: 'vnc', containerPort: 5900, protocol: 'TCP' }],
          resources: {
            requests: { cpu: '1500m', memory: '2048Mi' },
            limits: { cpu: '1500m', memory: '2048Mi' },
          },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          },
          readinessProbe: { tcpSocket: { port: 'vnc' }, periodSeconds: 2, failureThreshold: 3 },
          volumeMounts: [
            { name: 'home', mountPath: '/home/user' },
            { name: 'vnc-password', mountPath: '/run/streamspace', readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'dshm', mountPath: '/dev/shm' },
          ],
        },
      ],
      volumes: [
        { name: 'home', persistentVolumeClaim: { claimName: 'home-alice' } },
        {
          name: 'vnc-password',
          secret: {
            secretName: `ss-${spec.sessionId}-vnc`,
            defaultMode: 0o440,
            items: [{ key: 'vncpasswd', path: 'vncpasswd' }],
          },
        },
        { name: 'tmp', emptyDir: {} },
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } },
      ],
    },
  });
});

test('the VNC password is a Secret and appears nowhere in the pod', () => {
  assert.deepEqual(vncSecret(spec, context), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `ss-${spec.sessionId}-vnc`, labels },
    type: 'Opaque',
    data: { vncpasswd: Buffer.from('pw-123456').toString('base64') },
  });
  assert.doesNotMatch(JSON.stringify(sessionPod(spec, context)), /pw-123456/);
});

test('the home claim: per homeKey, storage class, access mode and size from the options', () => {
  assert.deepEqual(homeClaim(spec, context), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'home-alice',
      labels: {
        'app.kubernetes.io/managed-by': 'streamspace',
        'app.kubernetes.io/component': 'home',
        'streamspace.io/scope': 'eu-1',
        'streamspace.io/user-id': spec.userId,
        'streamspace.io/home': 'alice',
      },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '20Gi' } },
    },
  });
  const { storageClassName: _omitted, ...noClass } = context;
  assert.equal(homeClaim(spec, noClass).spec?.storageClassName, undefined, 'the cluster default');
});

test('the network policy admits only the agent pods, only on the VNC port', () => {
  assert.deepEqual(sessionNetworkPolicy(spec, context), {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `ss-${spec.sessionId}-vnc`, labels },
    spec: {
      podSelector: { matchLabels: { 'streamspace.io/session-id': spec.sessionId } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [
            {
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'streamspace-agent' } },
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'streamspace' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 5900 }],
        },
      ],
    },
  });
});

test('a template id that is no valid label value stays an annotation only', () => {
  const pod = sessionPod({ ...spec, templateId: 'My Template!' }, context);
  assert.equal(pod.metadata?.labels?.['streamspace.io/template-id'], undefined);
  assert.equal(pod.metadata?.annotations?.['streamspace.io/template-id'], 'My Template!');
});
