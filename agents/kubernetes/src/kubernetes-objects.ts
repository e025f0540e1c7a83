import type {
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import type { SessionSpec } from '@streamspace/protocol';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_SESSION_ID = 'streamspace.io/session-id';
export const LABEL_USER_ID = 'streamspace.io/user-id';
export const LABEL_TEMPLATE_ID = 'streamspace.io/template-id';
export const LABEL_HOME = 'streamspace.io/home';
/** Which driver instance owns an object, so two agents can share a namespace. */
export const LABEL_SCOPE = 'streamspace.io/scope';
export const ANNOTATION_VNC_PORT = 'streamspace.io/vnc-port';
export const ANNOTATION_TEMPLATE_ID = 'streamspace.io/template-id';
export const MANAGED_BY = 'streamspace';

/** Where the image contract mounts the home and reads the password (deploy/images/README.md). */
export const HOME_MOUNT = '/home/user';
export const PASSWORD_DIR = '/run/streamspace';
export const PASSWORD_KEY = 'vncpasswd';
/** The session user of the image contract. */
export const SESSION_UID = 1000;

/** Everything about the cluster the objects depend on, from the driver's options. */
export interface ObjectContext {
  scope: string;
  storageClassName?: string;
  homeAccessMode: string;
  homeSize: string;
  /** Labels of the agent's pods: the only ones the NetworkPolicy lets reach the VNC port. */
  agentPodLabels: Record<string, string>;
  /** The agent's namespace when it differs from the sessions' namespace. */
  agentNamespace?: string;
  stopGraceSeconds: number;
  /** Size of the memory-backed /dev/shm in MiB (Chromium needs more than 64). */
  shmSizeMb: number;
  imagePullSecrets: string[];
}

// A label value: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends.
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function podName(sessionId: string): string {
  return `ss-${sessionId}`;
}

export function secretName(sessionId: string): string {
  return `ss-${sessionId}-vnc`;
}

export function networkPolicyName(sessionId: string): string {
  return `ss-${sessionId}-vnc`;
}

export function claimName(homeKey: string): string {
  return `home-${homeKey}`;
}

/** The labels that tie an object to its session; a template id that is no label value is left out. */
export function sessionLabels(scope: string, spec: SessionSpec): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_NAME]: 'streamspace-session',
    [LABEL_COMPONENT]: 'session',
    [LABEL_SCOPE]: scope,
    [LABEL_SESSION_ID]: spec.sessionId,
    [LABEL_USER_ID]: spec.userId,
    ...(LABEL_VALUE.test(spec.templateId) ? { [LABEL_TEMPLATE_ID]: spec.templateId } : {}),
    [LABEL_HOME]: spec.homeKey,
  };
}

/** The selector of everything one driver instance manages. */
export function scopeSelector(scope: string): string {
  return `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_SCOPE}=${scope}`;
}

/**
 * The session's pod: the template image, its app as args, requests equal to limits
 * (Guaranteed QoS, so the scheduler reserves what the template promises), the image
 * contract's non-root user, no privilege escalation, no capabilities, a read-only root with
 * writable /tmp, the home PVC and the VNC password as a Secret file (never an env var: pod
 * specs and `kubectl describe` show env). Readiness is the VNC port accepting connections.
 */
export function sessionPod(spec: SessionSpec, context: ObjectContext): V1Pod {
  const resources = { cpu: `${spec.resources.cpuMillis}m`, memory: `${spec.resources.memoryMb}Mi` };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(spec.sessionId),
      labels: sessionLabels(context.scope, spec),
      annotations: {
        [ANNOTATION_VNC_PORT]: String(spec.vncPort),
        [ANNOTATION_TEMPLATE_ID]: spec.templateId,
      },
    },
    spec: {
      restartPolicy: 'Never',
      // The entrypoint's own grace is 2 s shorter, so a clean stop exits 0 (image contract).
      terminationGracePeriodSeconds: context.stopGraceSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(context.imagePullSecrets.length > 0
        ? { imagePullSecrets: context.imagePullSecrets.map((name) => ({ name })) }
        : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SESSION_UID,
        runAsGroup: SESSION_UID,
        // Makes a fresh PVC and the password file readable/writable by the session user.
        fsGroup: SESSION_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'session',
          image: spec.image,
          imagePullPolicy: 'IfNotPresent',
          args: spec.app,
          env: [
            ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
            {
              name: 'STREAMSPACE_GEOMETRY',
              value: `${spec.geometry.width}x${spec.geometry.height}`,
            },
            { name: 'STREAMSPACE_WM', value: spec.windowManager },
            { name: 'STREAMSPACE_VNC_PORT', value: String(spec.vncPort) },
            { name: 'STREAMSPACE_VNC_PASSWORD_FILE', value: `${PASSWORD_DIR}/${PASSWORD_KEY}` },
            {
              name: 'STREAMSPACE_STOP_GRACE_SECONDS',
              value: String(Math.max(1, context.stopGraceSeconds - 2)),
            },
          ],
          ports: [{ name: 'vnc', containerPort: spec.vncPort, protocol: 'TCP' }],
          resources: { requests: resources, limits: resources },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: SESSION_UID,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          },
          readinessProbe: {
            tcpSocket: { port: 'vnc' },
            periodSeconds: 2,
            failureThreshold: 3,
          },
          volumeMounts: [
            { name: 'home', mountPath: HOME_MOUNT },
            { name: 'vnc-password', mountPath: PASSWORD_DIR, readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'dshm', mountPath: '/dev/shm' },
          ],
        },
      ],
      volumes: [
        { name: 'home', persistentVolumeClaim: { claimName: claimName(spec.homeKey) } },
        {
          name: 'vnc-password',
          // 0440 + fsGroup: readable by the session user's group, by nobody else.
          secret: {
            secretName: secretName(spec.sessionId),
            defaultMode: 0o440,
            items: [{ key: PASSWORD_KEY, path: PASSWORD_KEY }],
          },
        },
        { name: 'tmp', emptyDir: {} },
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: `${context.shmSizeMb}Mi` } },
      ],
    },
  };
}

/** The VNC password as a Secret, mounted into the pod as a file. */
export function vncSecret(spec: SessionSpec, context: ObjectContext): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(spec.sessionId), labels: sessionLabels(context.scope, spec) },
    type: 'Opaque',
    data: { [PASSWORD_KEY]: Buffer.from(spec.vncPassword, 'utf8').toString('base64') },
  };
}

/** The persistent home: one claim per homeKey, kept across hibernate and stop. */
export function homeClaim(spec: SessionSpec, context: ObjectContext): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(spec.homeKey),
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_COMPONENT]: 'home',
        [LABEL_SCOPE]: context.scope,
        [LABEL_USER_ID]: spec.userId,
        [LABEL_HOME]: spec.homeKey,
      },
    },
    spec: {
      accessModes: [context.homeAccessMode],
      ...(context.storageClassName === undefined
        ? {}
        : { storageClassName: context.storageClassName }),
      resources: { requests: { storage: context.homeSize } },
    },
  };
}

/**
 * Ingress to the session pod only from the agent's pods and only on the VNC port. Egress is
 * left to the cluster's policy: apps in a session may need the network.
 */
export function sessionNetworkPolicy(spec: SessionSpec, context: ObjectContext): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: networkPolicyName(spec.sessionId),
      labels: sessionLabels(context.scope, spec),
    },
    spec: {
      podSelector: { matchLabels: { [LABEL_SESSION_ID]: spec.sessionId } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [
            {
              podSelector: { matchLabels: context.agentPodLabels },
              ...(context.agentNamespace === undefined
                ? {}
                : {
                    namespaceSelector: {
                      matchLabels: { 'kubernetes.io/metadata.name': context.agentNamespace },
                    },
                  }),
            },
          ],
          ports: [{ protocol: 'TCP', port: spec.vncPort }],
        },
      ],
    },
  };
}
