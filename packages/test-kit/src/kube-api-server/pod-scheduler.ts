import type { PodSpecView } from './docker-pod-runtime';
import { parseQuantity } from './quantity';
import type { ResourceApi } from './resource-api';
import { findResourceType } from './resource-types';

const CLAIMS = findResourceType('', 'v1', 'persistentvolumeclaims')!;

/** What one node offers the scheduler. */
export interface NodeCapacity {
  cpuMillis: number;
  memoryMb: number;
}

/** A pod as the scheduler sees it: its claims and its requests (cores, bytes). */
export interface SchedulablePod {
  namespace: string;
  claims: string[];
  cpu: number;
  memory: number;
}

/**
 * Why the single node cannot take the pod, in kube-scheduler's words, or undefined when it
 * fits: a missing or unbound claim (volume binding), or requests beyond what is left after
 * the pods already placed (NodeResourcesFit).
 */
export function unschedulableReason(
  api: ResourceApi,
  pod: SchedulablePod,
  placed: SchedulablePod[],
  capacity: NodeCapacity,
): string | undefined {
  for (const claimName of pod.claims) {
    const claim = api.store.get(CLAIMS, pod.namespace, claimName);
    if (claim === undefined) {
      return `0/1 nodes are available: persistentvolumeclaim "${claimName}" not found.`;
    }
    if ((claim.status as { phase?: string } | undefined)?.phase !== 'Bound') {
      return '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.';
    }
  }
  const cpu = placed.reduce((sum, other) => sum + other.cpu, pod.cpu);
  const memory = placed.reduce((sum, other) => sum + other.memory, pod.memory);
  const short: string[] = [];
  if (cpu * 1000 > capacity.cpuMillis) short.push('Insufficient cpu');
  if (memory > capacity.memoryMb * 2 ** 20) short.push('Insufficient memory');
  if (short.length > 0) {
    return `0/1 nodes are available: ${short.map((item) => `1 ${item}`).join(', ')}.`;
  }
  return undefined;
}

/** The pod's requests in cores and bytes (limits stand in for missing requests, as defaulting does). */
export function podRequests(spec: PodSpecView): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const container of spec.containers) {
    const { requests, limits } = container.resources ?? {};
    cpu += parseQuantity(requests?.cpu ?? limits?.cpu ?? 0);
    memory += parseQuantity(requests?.memory ?? limits?.memory ?? 0);
  }
  return { cpu, memory };
}
