import type { Duplex } from 'node:stream';
import { CoreV1Api, KubeConfig, NetworkingV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { SessionSpec, systemClock, type Clock } from '@streamspace/protocol';
import {
  DriverError,
  type SessionDriver,
  type StartedSession,
  type StopOptions,
} from '@streamspace/session-driver';
import { messageOf, platformError, unlessExists, unlessNotFound } from './kube-api-errors';
import {
  claimName,
  homeClaim,
  LABEL_HOME,
  LABEL_SESSION_ID,
  networkPolicyName,
  podName,
  scopeSelector,
  secretName,
  sessionNetworkPolicy,
  sessionPod,
  vncSecret,
  type ObjectContext,
} from './kubernetes-objects';
import { connectPodIp, connectPortForward } from './pod-stream';
import { classifyPod } from './pod-status';
import { createPodWaiter } from './pod-waiter';
import { createPodWatcher, type PodWatcher } from './pod-watcher';
import { createSessionChangeReporter } from './session-change-reporter';
import { hibernatedObservation, observationFromPod } from './session-observation';

export type StreamMode = 'pod-ip' | 'port-forward';

export interface KubernetesDriverOptions {
  /** Defaults to the in-cluster service account, else $KUBECONFIG / ~/.kube/config. */
  kubeConfig?: KubeConfig;
  /** Namespace of the session pods (default: the kubeconfig context's, else `default`). */
  namespace?: string;
  /** Owner label of everything this driver makes, so several agents can share a namespace. */
  scope?: string;
  storageClassName?: string;
  /** Access mode of home claims (default ReadWriteOnce). */
  homeAccessMode?: string;
  /** Size of a new home claim (default 10Gi). */
  homeSize?: string;
  /** Labels of the agent's pods, the only peers the NetworkPolicy admits to the VNC port. */
  agentPodLabels?: Record<string, string>;
  /** The agent's namespace when it is not the sessions' namespace. */
  agentNamespace?: string;
  /** `pod-ip` when the agent runs in the cluster, `port-forward` through the API server. */
  streamMode?: StreamMode;
  /** Pod termination grace in seconds (default 10). */
  stopGraceSeconds?: number;
  shmSizeMb?: number;
  imagePullSecrets?: string[];
  /** Bound on start and wake, image pull included, in ms (default 180 s). */
  startTimeoutMs?: number;
  /** Bound on a pod staying unscheduled (no room, unbound claim), in ms (default 60 s). */
  scheduleTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface KubernetesDriver extends SessionDriver {
  readonly namespace: string;
  readonly scope: string;
}

/** The service account environment a pod gets; present means "in the cluster". */
function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

const DEFAULT_AGENT_LABELS = { 'app.kubernetes.io/name': 'streamspace-agent' };
/** Extra time beyond the grace period for the kubelet to report a pod gone, in ms. */
const STOP_SLACK_MS = 30_000;

/**
 * Sessions as pods (docs/kubernetes.md): one pod, one Secret (the VNC password) and one
 * NetworkPolicy per session, one PVC per home. Readiness and failures come from a pod watch,
 * never from polling. Hibernate deletes the pod and keeps the rest; wake recreates the pod.
 */
export function createKubernetesDriver(options: KubernetesDriverOptions = {}): KubernetesDriver {
  const kubeConfig = options.kubeConfig ?? loadKubeConfig();
  const namespace =
    options.namespace ??
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ??
    'default';
  const scope = options.scope ?? 'default';
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? pino({ level: 'silent' })).child({
    driver: 'kubernetes',
    namespace,
    scope,
  });
  const stopGraceSeconds = options.stopGraceSeconds ?? 10;
  const startTimeoutMs = options.startTimeoutMs ?? 180_000;
  const scheduleTimeoutMs = options.scheduleTimeoutMs ?? 60_000;
  const streamMode = options.streamMode ?? 'pod-ip';
  const context: ObjectContext = {
    scope,
    ...(options.storageClassName === undefined
      ? {}
      : { storageClassName: options.storageClassName }),
    homeAccessMode: options.homeAccessMode ?? 'ReadWriteOnce',
    homeSize: options.homeSize ?? '10Gi',
    agentPodLabels: options.agentPodLabels ?? DEFAULT_AGENT_LABELS,
    ...(options.agentNamespace === undefined || options.agentNamespace === namespace
      ? {}
      : { agentNamespace: options.agentNamespace }),
    stopGraceSeconds,
    shmSizeMb: options.shmSizeMb ?? 256,
    imagePullSecrets: options.imagePullSecrets ?? [],
  };
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const selector = scopeSelector(scope);
  const watcher: PodWatcher = createPodWatcher({
    core,
    watch: new Watch(kubeConfig),
    namespace,
    labelSelector: selector,
    clock,
    logger,
  });

  const locks = new Map<string, Promise<unknown>>();

  const changes = createSessionChangeReporter({ watcher, namespace, logger });
  const { expectedGone, starting } = changes;

  function serialized<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    const previous = locks.get(sessionId) ?? Promise.resolve();
    const result = previous.catch(() => {}).then(task);
    const tail = result.catch(() => {});
    locks.set(sessionId, tail);
    void tail.then(() => {
      if (locks.get(sessionId) === tail) locks.delete(sessionId);
    });
    return result;
  }

  const waitForPod = createPodWaiter(watcher, clock);

  async function deletePodAndWait(name: string): Promise<void> {
    expectedGone.add(name);
    try {
      const deleted = await unlessNotFound(
        core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: stopGraceSeconds }),
      );
      if (deleted === undefined) return;
      const gone = (pod: V1Pod | undefined): boolean =>
        pod === undefined || pod.metadata?.uid !== deleted.metadata?.uid;
      const timeoutMs = stopGraceSeconds * 1000 + STOP_SLACK_MS;
      try {
        await waitForPod(
          name,
          (pod) => (gone(pod) ? { value: undefined } : undefined),
          timeoutMs,
          async () =>
            new DriverError(
              'platform_error',
              `pod ${name} was not removed within ${timeoutMs / 1000} s`,
            ),
        );
      } catch (error) {
        // The watch may lag (or be down): the API server has the last word.
        if (!gone(await unlessNotFound(core.readNamespacedPod({ name, namespace })))) throw error;
      }
    } finally {
      expectedGone.delete(name);
    }
  }

  /** Why a pod that is still not scheduled cannot be: an unbound claim, or no room. */
  async function schedulingFailure(spec: SessionSpec): Promise<Error | undefined> {
    const pod = watcher.get(podName(spec.sessionId));
    if (pod?.spec?.nodeName !== undefined) return undefined;
    const claim = await unlessNotFound(
      core.readNamespacedPersistentVolumeClaim({ name: claimName(spec.homeKey), namespace }),
    );
    const seconds = Math.round(scheduleTimeoutMs / 1000);
    if (claim?.status?.phase !== 'Bound') {
      const storageClass = claim?.spec?.storageClassName ?? 'the default storage class';
      return new DriverError(
        'platform_error',
        `PersistentVolumeClaim ${claimName(spec.homeKey)} is ${claim?.status?.phase ?? 'missing'}: not bound after ${seconds} s (${storageClass})`,
      );
    }
    const state = pod === undefined ? undefined : classifyPod(pod);
    if (state?.state === 'pending' && state.unschedulable !== undefined) {
      return new DriverError(
        'capacity_exhausted',
        `pod not scheduled after ${seconds} s: ${state.unschedulable}`,
      );
    }
    return undefined;
  }

  async function waitReady(spec: SessionSpec, uid: string): Promise<V1Pod> {
    const name = podName(spec.sessionId);
    let seen = false;
    let last = 'the pod was not seen';
    return waitForPod<V1Pod>(
      name,
      (pod) => {
        if (pod === undefined || pod.metadata?.uid !== uid) {
          return seen
            ? { error: new DriverError('platform_error', `pod ${name} disappeared during start`) }
            : undefined;
        }
        seen = true;
        const state = classifyPod(pod);
        if (state.state === 'ready') return { value: pod };
        if (state.state === 'failed')
          return { error: new DriverError(state.code, `pod ${name}: ${state.reason}`) };
        if (state.state === 'terminating')
          return { error: new DriverError('platform_error', `pod ${name} is being deleted`) };
        last = state.unschedulable ?? state.waiting ?? `phase ${pod.status?.phase ?? 'Pending'}`;
        return undefined;
      },
      startTimeoutMs,
      async () =>
        new DriverError(
          'start_timeout',
          `pod ${name} not ready within ${startTimeoutMs} ms (${last})`,
        ),
      [{ afterMs: scheduleTimeoutMs, check: () => schedulingFailure(spec) }],
    );
  }

  async function removeSessionObjects(sessionId: string): Promise<void> {
    await unlessNotFound(core.deleteNamespacedSecret({ name: secretName(sessionId), namespace }));
    await unlessNotFound(
      networking.deleteNamespacedNetworkPolicy({ name: networkPolicyName(sessionId), namespace }),
    );
  }

  async function startLocked(input: SessionSpec): Promise<StartedSession> {
    const parsed = SessionSpec.safeParse(input);
    if (!parsed.success)
      throw new DriverError('invalid_spec', `invalid session spec: ${parsed.error.message}`);
    const spec = parsed.data;
    const reserved = Object.keys(spec.env).filter((name) => name.startsWith('STREAMSPACE_'));
    if (reserved.length > 0)
      throw new DriverError('invalid_spec', `env may not set ${reserved.join(', ')}`);
    const name = podName(spec.sessionId);
    const log = logger.child({ sessionId: spec.sessionId });
    await watcher.synced;
    starting.add(spec.sessionId);
    try {
      let existing = await unlessNotFound(core.readNamespacedPod({ name, namespace }));
      const state = existing === undefined ? undefined : classifyPod(existing);
      if (state?.state === 'ready')
        return { observation: observationFromPod(existing!, namespace) };
      if (state?.state === 'failed' || state?.state === 'terminating') {
        await deletePodAndWait(name);
        existing = undefined;
      }
      let target: V1Pod;
      try {
        await unlessExists(
          core.createNamespacedPersistentVolumeClaim({ namespace, body: homeClaim(spec, context) }),
        );
        const secret = vncSecret(spec, context);
        const created = await unlessExists(
          core.createNamespacedSecret({ namespace, body: secret }),
        );
        if (created === undefined)
          await core.replaceNamespacedSecret({
            name: secretName(spec.sessionId),
            namespace,
            body: secret,
          });
        await unlessExists(
          networking.createNamespacedNetworkPolicy({
            namespace,
            body: sessionNetworkPolicy(spec, context),
          }),
        );
        target =
          existing ??
          (await core.createNamespacedPod({ namespace, body: sessionPod(spec, context) }));
      } catch (error) {
        throw platformError('creating the session objects', error);
      }
      try {
        const ready = await waitReady(spec, target.metadata!.uid!);
        log.info({ pod: name }, 'session pod ready');
        return { observation: observationFromPod(ready, namespace) };
      } catch (error) {
        // Nothing keeps running (or pulling, or waiting for a node) after a failed start.
        log.warn({ err: error }, 'session pod failed to start');
        await deletePodAndWait(name).catch(() => {});
        await removeSessionObjects(spec.sessionId).catch(() => {});
        throw platformError('starting the session pod', error);
      }
    } finally {
      starting.delete(spec.sessionId);
    }
  }

  async function homeKeyOf(sessionId: string): Promise<string | undefined> {
    const pod = await unlessNotFound(
      core.readNamespacedPod({ name: podName(sessionId), namespace }),
    );
    const secret = await unlessNotFound(
      core.readNamespacedSecret({ name: secretName(sessionId), namespace }),
    );
    return pod?.metadata?.labels?.[LABEL_HOME] ?? secret?.metadata?.labels?.[LABEL_HOME];
  }

  return {
    platform: 'kubernetes',
    namespace,
    scope,

    start: (spec) => serialized(spec.sessionId, () => startLocked(spec)),
    wake: (spec) => serialized(spec.sessionId, () => startLocked(spec)),

    stop: (sessionId, stopOptions: StopOptions) =>
      serialized(sessionId, async () => {
        try {
          const homeKey = stopOptions.homeKey ?? (await homeKeyOf(sessionId));
          await deletePodAndWait(podName(sessionId));
          await removeSessionObjects(sessionId);
          if (stopOptions.deleteHome && homeKey !== undefined) {
            await unlessNotFound(
              core.deleteNamespacedPersistentVolumeClaim({ name: claimName(homeKey), namespace }),
            );
          }
          logger.info({ sessionId, deleteHome: stopOptions.deleteHome }, 'session stopped');
        } catch (error) {
          throw platformError('stopping the session', error);
        }
      }),

    hibernate: (sessionId) =>
      serialized(sessionId, async () => {
        try {
          await deletePodAndWait(podName(sessionId));
          logger.info({ sessionId }, 'session hibernated');
        } catch (error) {
          throw platformError('hibernating the session', error);
        }
      }),

    inspect: async (sessionId) => {
      try {
        const pod = await unlessNotFound(
          core.readNamespacedPod({ name: podName(sessionId), namespace }),
        );
        if (pod !== undefined) return observationFromPod(pod, namespace);
        const secret = await unlessNotFound(
          core.readNamespacedSecret({ name: secretName(sessionId), namespace }),
        );
        return secret === undefined ? null : hibernatedObservation(sessionId, namespace);
      } catch (error) {
        throw platformError('inspecting the session', error);
      }
    },

    list: async () => {
      try {
        const [pods, secrets] = await Promise.all([
          core.listNamespacedPod({ namespace, labelSelector: selector }),
          core.listNamespacedSecret({ namespace, labelSelector: selector }),
        ]);
        const observations = pods.items.map((pod) => observationFromPod(pod, namespace));
        const running = new Set(observations.map((observation) => observation.sessionId));
        for (const secret of secrets.items) {
          const sessionId = secret.metadata?.labels?.[LABEL_SESSION_ID];
          if (sessionId !== undefined && !running.has(sessionId))
            observations.push(hibernatedObservation(sessionId, namespace));
        }
        return observations;
      } catch (error) {
        throw platformError('listing sessions', error);
      }
    },

    openStream: async (sessionId, port): Promise<Duplex> => {
      const name = podName(sessionId);
      const pod = await unlessNotFound(core.readNamespacedPod({ name, namespace })).catch(
        (error: unknown) => {
          throw platformError('reading the session pod', error);
        },
      );
      const state = pod === undefined ? undefined : classifyPod(pod);
      if (state?.state !== 'ready') {
        throw new DriverError('session_not_found', `session ${sessionId} has no ready pod`);
      }
      if (streamMode === 'pod-ip') return connectPodIp(state.podIP, port);
      try {
        return await connectPortForward(kubeConfig, namespace, name, port);
      } catch (error) {
        throw new DriverError(
          'platform_error',
          `port-forward to ${name}:${port} failed: ${messageOf(error)}`,
          { cause: error },
        );
      }
    },

    onSessionChange: (listener) => changes.subscribe(listener),

    close: async () => {
      watcher.close();
      changes.close();
    },
  };
}
