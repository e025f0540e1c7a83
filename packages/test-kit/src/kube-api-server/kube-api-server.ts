import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DockerKubelet } from './docker-kubelet';
import type { NodeCapacity } from './pod-scheduler';
import { DockerPodRuntime, KUBE_SERVER_LABEL } from './docker-pod-runtime';
import {
  createKubeApiHttpServer,
  kubeconfigFor,
  writeKubeconfig,
  type KubeApiHttpOptions,
} from './kube-api-http-server';
import type { ResourceApi } from './resource-api';
import type { KubeObject } from './kube-object';
import { findResourceType, RESOURCE_TYPES } from './resource-types';

export interface KubeApiServerOptions extends KubeApiHttpOptions {
  /** The Docker engine that runs the pods (default: the local socket). */
  docker?: Docker;
  /** The single node's allocatable resources (default 4 cores, 8 GiB). */
  capacity?: NodeCapacity;
  /** Claims of this storage class never bind (default `never-binds`). */
  neverBindStorageClass?: string;
  /** Upper bound on readiness probe periods in ms (default 200). */
  maxProbeIntervalMs?: number;
}

/** A running test API server with real pods. */
export interface KubeApiServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The REST verbs in-process, for test setup without HTTP. */
  api: ResourceApi;
  /** Docker network the pods join; the host reaches pod IPs on it. */
  network: string;
  /** Value of the `io.streamspace.test-kube-server` label on everything it made in Docker. */
  serverId: string;
  requestLog: { method: string; path: string; watch: boolean }[];
  /** A kubeconfig document (JSON) for this server. */
  kubeconfig(namespace?: string): string;
  /** Writes the kubeconfig to a temporary file; returns its path. */
  writeKubeconfig(namespace?: string): Promise<string>;
  /** The stored objects of a resource (`pods`, `networkpolicies`, …) in a namespace. */
  objects(resource: string, namespace: string): KubeObject[];
  /** Drops the watch history: any watch from an older resourceVersion gets 410 Gone. */
  compactHistory(): void;
  /** Ends every open watch, abruptly unless `{ abrupt: false }`; returns how many. */
  dropWatches(options?: { abrupt?: boolean }): number;
  openWatches(): number;
  /** Fails a running pod with reason Evicted and removes its container. */
  evictPod(namespace: string, name: string, message?: string): Promise<void>;
  /** The Docker volume that backs a bound claim. */
  claimVolume(namespace: string, claimName: string): string;
  /** Writes a file into a claim's volume through a helper container of `image`. */
  writeClaimFile(
    namespace: string,
    claimName: string,
    path: string,
    data: Buffer,
    image: string,
  ): Promise<void>;
  /** Reads a file from a claim's volume, or undefined when it does not exist. */
  readClaimFile(
    namespace: string,
    claimName: string,
    path: string,
    image: string,
  ): Promise<Buffer | undefined>;
  /** Stops everything and removes every container, volume and network it made. */
  close(): Promise<void>;
}

const CLAIMS = findResourceType('', 'v1', 'persistentvolumeclaims')!;

/**
 * A Kubernetes API server for tests: the real REST and watch protocol (kubectl and
 * @kubernetes/client-node work against it unchanged) over an in-memory store, with a
 * Docker-backed kubelet so that pods really run, get IPs and die. One node; no registry
 * pulls (a missing image is ErrImagePull / ImagePullBackOff, as with an unreachable registry).
 */
export async function createKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const http = await createKubeApiHttpServer(options);
  const serverId = randomBytes(4).toString('hex');
  const network = `streamspace-kube-${serverId}`;
  const runtime = new DockerPodRuntime(options.docker ?? new Docker(), serverId, network);
  const kubelet = new DockerKubelet({
    api: http.api,
    runtime,
    capacity: options.capacity ?? { cpuMillis: 4000, memoryMb: 8192 },
    nodeName: 'streamspace-test-node',
    neverBindStorageClass: options.neverBindStorageClass ?? 'never-binds',
    maxProbeIntervalMs: options.maxProbeIntervalMs ?? 200,
  });
  try {
    await kubelet.start();
  } catch (error) {
    await http.close();
    await runtime.removeAll().catch(() => {});
    throw error;
  }
  const claimVolume = (namespace: string, claimName: string): string => {
    const claim = http.api.get(CLAIMS, namespace, claimName);
    return runtime.claimVolumeName(claim.metadata.uid!);
  };
  return {
    url: http.url,
    api: http.api,
    network,
    serverId,
    requestLog: http.requestLog,
    kubeconfig: (namespace) => kubeconfigFor(http.url, namespace, options.token),
    writeKubeconfig: (namespace) => writeKubeconfig(http.url, namespace, options.token),
    objects: (resource, namespace) => {
      const type = RESOURCE_TYPES.find((candidate) => candidate.resource === resource);
      if (type === undefined) throw new Error(`the test API server has no resource ${resource}`);
      return http.api.store.list(type, namespace);
    },
    compactHistory: () => http.api.store.compact(),
    dropWatches: (dropOptions) => http.dropWatches(dropOptions),
    openWatches: () => http.openWatches(),
    evictPod: (namespace, name, message) =>
      kubelet.evict(namespace, name, message ?? 'The node was low on resource: memory.'),
    claimVolume,
    writeClaimFile: async (namespace, claimName, path, data, image) => {
      const volume = claimVolume(namespace, claimName);
      await runtime.ensureVolume(volume);
      await runtime.writeVolume(volume, image, [{ path, data, mode: 0o644 }], {
        uid: 1000,
        gid: 1000,
      });
    },
    readClaimFile: (namespace, claimName, path, image) =>
      runtime.readVolumeFile(claimVolume(namespace, claimName), image, path),
    close: async () => {
      await http.close();
      await kubelet.close();
    },
  };
}

export { KUBE_SERVER_LABEL };
