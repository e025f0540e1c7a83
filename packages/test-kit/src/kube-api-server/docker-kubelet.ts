import type { DockerPodRuntime, PodSpecView } from './docker-pod-runtime';
import { timestamp, type KubeObject } from './kube-object';
import type { StoreEvent } from './object-store';
import type { ResourceApi } from './resource-api';
import { probeTcp } from './tcp-probe';
import { setCondition, type PodStatus as Status } from './pod-conditions';
import { resolvePodInputs } from './pod-inputs';
import { bindClaim } from './claim-binder';
import { podRequests, unschedulableReason, type NodeCapacity } from './pod-scheduler';
import { findResourceType } from './resource-types';

const PODS = findResourceType('', 'v1', 'pods')!;
const CLAIMS = findResourceType('', 'v1', 'persistentvolumeclaims')!;
/** A tcpSocket probe's connect timeout, in ms (kubelet's default timeoutSeconds is 1). */
const PROBE_TIMEOUT_MS = 1000;

export interface DockerKubeletOptions {
  api: ResourceApi;
  runtime: DockerPodRuntime;
  capacity: NodeCapacity;
  nodeName: string;
  /** Claims of this storage class stay Pending forever (a provisioner that never answers). */
  neverBindStorageClass: string;
  /** Upper bound on the readiness probe period, so tests need not wait whole seconds. */
  maxProbeIntervalMs: number;
}

type PodPhase = 'unscheduled' | 'waiting' | 'running' | 'terminated' | 'deleting';

interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  phase: PodPhase;
  containerId?: string;
  podIp?: string;
  cpu: number;
  memory: number;
  claims: string[];
  restartCount: number;
  timers: Set<NodeJS.Timeout>;
  queue: Promise<void>;
  disposed: boolean;
}

/**
 * A kubelet and scheduler for one node, backed by the local Docker engine: pods become
 * containers on the server's bridge network, claims bind to named volumes, and status moves
 * through the phases and container states a real kubelet reports. Only a pod's first
 * container runs; readiness probes support tcpSocket.
 */
export class DockerKubelet {
  private readonly pods = new Map<string, PodRecord>();
  private readonly unsubscribe: () => void;
  private stopDeaths: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: DockerKubeletOptions) {
    this.unsubscribe = options.api.store.subscribe((event) => this.onEvent(event));
    options.api.onDelete('Pod', (pod) => {
      const record = this.pods.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
      return record !== undefined && record.phase !== 'unscheduled' ? 'graceful' : 'now';
    });
    options.api.onDelete('PersistentVolumeClaim', (claim) =>
      this.claimInUse(claim.metadata.namespace!, claim.metadata.name) ? 'graceful' : 'now',
    );
  }

  async start(): Promise<void> {
    await this.options.runtime.ensureNetwork();
    this.stopDeaths = await this.options.runtime.watchDeaths((id) => {
      const record = [...this.pods.values()].find((candidate) => candidate.containerId === id);
      if (record !== undefined) this.enqueue(record, () => this.onContainerDied(record));
    });
  }

  /** Fails a pod as the node-pressure eviction manager does and removes its container. */
  async evict(namespace: string, name: string, message: string): Promise<void> {
    const record = this.pods.get(`${namespace}/${name}`);
    if (record === undefined) throw new Error(`no pod ${namespace}/${name}`);
    await this.enqueue(record, async () => {
      const wasRunning = record.phase;
      record.phase = 'terminated';
      if (record.containerId !== undefined && wasRunning !== 'terminated') {
        await this.options.runtime.stopAndRemove(record.containerId, 0, record.uid);
      }
      this.setStatus(record, (status) => {
        status.phase = 'Failed';
        status.reason = 'Evicted';
        status.message = message;
        this.markContainer(
          status,
          record,
          { terminated: { exitCode: 137, reason: 'Error', finishedAt: timestamp() } },
          false,
        );
      });
      this.afterPodReleased();
    });
  }

  private onEvent(event: StoreEvent): void {
    if (this.closed) return;
    const { object } = event;
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    if (event.resource === PODS) {
      if (event.type === 'ADDED') this.track(object);
      const record = this.pods.get(key);
      if (record === undefined || record.uid !== object.metadata.uid) return;
      if (event.type === 'DELETED') {
        this.dispose(record);
        this.afterPodReleased();
      } else if (object.metadata.deletionTimestamp !== undefined && record.phase !== 'deleting') {
        record.phase = 'deleting';
        const grace = object.metadata.deletionGracePeriodSeconds ?? 30;
        this.enqueue(record, () => this.terminate(record, grace));
      }
    } else if (event.resource === CLAIMS) {
      if (event.type === 'ADDED') {
        setImmediate(() =>
          bindClaim(
            this.options.api,
            this.options.runtime,
            object,
            this.options.neverBindStorageClass,
            () => this.closed,
          ),
        );
      }
      if (event.type === 'MODIFIED') this.rescheduleWaiting();
      if (event.type === 'DELETED' && object.metadata.uid !== undefined) {
        void this.options.runtime.removeVolume(
          this.options.runtime.claimVolumeName(object.metadata.uid),
        );
      }
    }
  }

  private track(pod: KubeObject): void {
    const spec = pod.spec as PodSpecView;
    const requests = podRequests(spec);
    const record: PodRecord = {
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name,
      uid: pod.metadata.uid!,
      phase: 'unscheduled',
      cpu: requests.cpu,
      memory: requests.memory,
      claims: (spec.volumes ?? []).flatMap((volume) =>
        volume.persistentVolumeClaim === undefined ? [] : [volume.persistentVolumeClaim.claimName],
      ),
      restartCount: 0,
      timers: new Set(),
      queue: Promise.resolve(),
      disposed: false,
    };
    this.pods.set(`${record.namespace}/${record.name}`, record);
    this.enqueue(record, () => this.schedule(record));
  }

  private enqueue(record: PodRecord, step: () => Promise<void> | void): Promise<void> {
    record.queue = record.queue
      .then(() => (record.disposed || this.closed ? undefined : step()))
      .catch((error: unknown) => {
        if (record.disposed || this.closed) return;
        this.setStatus(record, (status) => {
          this.markContainer(
            status,
            record,
            {
              waiting: {
                reason: 'RunContainerError',
                message: error instanceof Error ? error.message : String(error),
              },
            },
            false,
          );
        });
      });
    return record.queue;
  }

  private later(record: PodRecord, ms: number, step: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      record.timers.delete(timer);
      void this.enqueue(record, step);
    }, ms);
    record.timers.add(timer);
  }

  private dispose(record: PodRecord): void {
    record.disposed = true;
    for (const timer of record.timers) clearTimeout(timer);
    record.timers.clear();
    const key = `${record.namespace}/${record.name}`;
    if (this.pods.get(key) === record) this.pods.delete(key);
  }

  private setStatus(record: PodRecord, mutate: (status: Status) => void): void {
    const pod = this.options.api.store.get(PODS, record.namespace, record.name);
    if (pod === undefined || pod.metadata.uid !== record.uid) return;
    const status = (pod.status ?? {}) as Status;
    mutate(status);
    this.options.api.replaceStatus(PODS, record.namespace, record.name, status);
  }

  private markContainer(
    status: Status,
    record: PodRecord,
    state: Record<string, unknown>,
    ready: boolean,
    lastState?: Record<string, unknown>,
  ): void {
    const pod = this.options.api.store.get(PODS, record.namespace, record.name);
    const container = (pod?.spec as PodSpecView | undefined)?.containers[0];
    status.containerStatuses = [
      {
        name: container?.name ?? 'main',
        image: container?.image ?? '',
        imageID: '',
        ...(record.containerId === undefined
          ? {}
          : { containerID: `docker://${record.containerId}` }),
        ready,
        started: 'running' in state,
        restartCount: record.restartCount,
        state,
        lastState: lastState ?? {},
      },
    ];
    setCondition(status, 'ContainersReady', ready);
    setCondition(status, 'Ready', ready);
  }

  private unschedulableReason(record: PodRecord): string | undefined {
    const placed = [...this.pods.values()].filter(
      (other) => other !== record && (other.phase === 'waiting' || other.phase === 'running'),
    );
    return unschedulableReason(this.options.api, record, placed, this.options.capacity);
  }

  private schedule(record: PodRecord): void {
    if (record.phase !== 'unscheduled') return;
    const reason = this.unschedulableReason(record);
    if (reason !== undefined) {
      this.setStatus(record, (status) => {
        status.phase = 'Pending';
        setCondition(status, 'PodScheduled', false, 'Unschedulable', reason);
      });
      return;
    }
    record.phase = 'waiting';
    const pod = this.options.api.store.get(PODS, record.namespace, record.name)!;
    (pod.spec as { nodeName?: string }).nodeName = this.options.nodeName;
    const status = (pod.status ?? {}) as Status;
    status.phase = 'Pending';
    status.hostIP = '127.0.0.1';
    setCondition(status, 'PodScheduled', true);
    setCondition(status, 'Initialized', true);
    this.options.api.store.update(PODS, { ...pod, status });
    this.later(record, 0, () => this.startPod(record));
  }

  private rescheduleWaiting(): void {
    for (const record of this.pods.values()) {
      if (record.phase === 'unscheduled') void this.enqueue(record, () => this.schedule(record));
    }
  }

  private afterPodReleased(): void {
    this.rescheduleWaiting();
    for (const claim of this.options.api.store.list(CLAIMS)) {
      if (
        claim.metadata.deletionTimestamp !== undefined &&
        !this.claimInUse(claim.metadata.namespace!, claim.metadata.name)
      ) {
        this.options.api.finalize(CLAIMS, claim.metadata.namespace, claim.metadata.name);
      }
    }
  }

  private claimInUse(namespace: string, claimName: string): boolean {
    return [...this.pods.values()].some(
      (record) =>
        record.namespace === namespace &&
        record.phase !== 'terminated' &&
        record.claims.includes(claimName),
    );
  }

  private async startPod(record: PodRecord): Promise<void> {
    if (record.phase !== 'waiting') return;
    const pod = this.options.api.store.get(PODS, record.namespace, record.name);
    if (pod === undefined) return;
    const spec = pod.spec as PodSpecView;
    const container = spec.containers[0]!;
    const waiting = (reason: string, message: string, retryMs: number): void => {
      this.setStatus(record, (status) =>
        this.markContainer(status, record, { waiting: { reason, message } }, false),
      );
      this.later(record, retryMs, () => this.startPod(record));
    };
    if (!(await this.options.runtime.imageExists(container.image))) {
      // kubelet alternates ErrImagePull and ImagePullBackOff while it retries.
      const current = (
        (pod.status as Status).containerStatuses as
          { state?: { waiting?: { reason?: string } } }[] | undefined
      )?.[0]?.state?.waiting?.reason;
      const reason = current === 'ErrImagePull' ? 'ImagePullBackOff' : 'ErrImagePull';
      const message =
        reason === 'ErrImagePull'
          ? `failed to pull and unpack image "${container.image}": pull access denied, repository does not exist or may require authorization`
          : `Back-off pulling image "${container.image}"`;
      return waiting(reason, message, 1000);
    }
    const inputs = await resolvePodInputs(this.options.api, this.options.runtime, pod);
    if ('waiting' in inputs) return waiting(inputs.waiting.reason, inputs.waiting.message, 500);
    const { env, secrets, claimVolumes } = inputs;
    this.setStatus(record, (status) =>
      this.markContainer(status, record, { waiting: { reason: 'ContainerCreating' } }, false),
    );
    record.containerId = await this.options.runtime.createContainer(
      pod,
      env,
      secrets,
      claimVolumes,
    );
    if (record.phase !== 'waiting') return;
    await this.runContainer(record, container.readinessProbe);
  }

  private async runContainer(
    record: PodRecord,
    probe: PodSpecView['containers'][number]['readinessProbe'],
    lastState?: Record<string, unknown>,
  ): Promise<void> {
    const { ip, startedAt } = await this.options.runtime.start(record.containerId!);
    record.phase = 'running';
    record.podIp = ip;
    const probed = probe?.tcpSocket !== undefined;
    this.setStatus(record, (status) => {
      status.phase = 'Running';
      status.podIP = ip;
      status.podIPs = [{ ip }];
      status.startTime ??= timestamp(startedAt);
      this.markContainer(
        status,
        record,
        { running: { startedAt: timestamp(startedAt) } },
        !probed,
        lastState,
      );
    });
    if (probed) this.probe(record, probe!, record.restartCount, false);
  }

  private probe(
    record: PodRecord,
    probe: NonNullable<PodSpecView['containers'][number]['readinessProbe']>,
    generation: number,
    wasReady: boolean,
  ): void {
    const pod = this.options.api.store.get(PODS, record.namespace, record.name);
    const ports = (pod?.spec as PodSpecView | undefined)?.containers[0]?.ports ?? [];
    const target = probe.tcpSocket!.port;
    const port =
      typeof target === 'number'
        ? target
        : (ports.find((entry) => entry.name === target)?.containerPort ?? 0);
    const period = Math.min((probe.periodSeconds ?? 10) * 1000, this.options.maxProbeIntervalMs);
    void probeTcp(record.podIp!, port, PROBE_TIMEOUT_MS).then((ok) => {
      if (record.disposed || record.phase !== 'running' || record.restartCount !== generation)
        return;
      if (ok !== wasReady) {
        this.setStatus(record, (status) => {
          const statuses = status.containerStatuses as { ready: boolean }[];
          if (statuses[0] !== undefined) statuses[0].ready = ok;
          setCondition(status, 'ContainersReady', ok);
          setCondition(status, 'Ready', ok);
        });
      }
      const timer = setTimeout(() => {
        record.timers.delete(timer);
        this.probe(record, probe, generation, ok);
      }, period);
      record.timers.add(timer);
    });
  }

  private async onContainerDied(record: PodRecord): Promise<void> {
    if (record.phase !== 'running' || record.containerId === undefined) return;
    const info = await this.options.runtime.exitInfo(record.containerId);
    const reason = info.oomKilled ? 'OOMKilled' : info.exitCode === 0 ? 'Completed' : 'Error';
    const terminated = {
      terminated: {
        exitCode: info.exitCode,
        reason,
        startedAt: timestamp(info.startedAt),
        finishedAt: timestamp(info.finishedAt),
        containerID: `docker://${record.containerId}`,
      },
    };
    const pod = this.options.api.store.get(PODS, record.namespace, record.name);
    const policy = (pod?.spec as PodSpecView | undefined)?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && info.exitCode === 0)) {
      record.phase = 'terminated';
      this.setStatus(record, (status) => {
        status.phase = info.exitCode === 0 ? 'Succeeded' : 'Failed';
        this.markContainer(status, record, terminated, false);
      });
      this.afterPodReleased();
      return;
    }
    record.restartCount += 1;
    record.phase = 'waiting';
    this.setStatus(record, (status) =>
      this.markContainer(
        status,
        record,
        {
          waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container` },
        },
        false,
        terminated,
      ),
    );
    const probe = (pod?.spec as PodSpecView | undefined)?.containers[0]?.readinessProbe;
    this.later(record, 1000, () =>
      record.phase === 'waiting' ? this.runContainer(record, probe, terminated) : undefined,
    );
  }

  private async terminate(record: PodRecord, graceSeconds: number): Promise<void> {
    for (const timer of record.timers) clearTimeout(timer);
    record.timers.clear();
    if (record.containerId !== undefined) {
      await this.options.runtime.stopAndRemove(record.containerId, graceSeconds, record.uid);
    }
    this.options.api.finalize(PODS, record.namespace, record.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.stopDeaths?.();
    for (const record of this.pods.values()) this.dispose(record);
    await this.options.runtime.removeAll();
  }
}
