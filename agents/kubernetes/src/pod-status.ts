import type { V1Pod } from '@kubernetes/client-node';
import type { DriverErrorCode } from '@streamspace/protocol';

/** What a session pod's status means for the driver. */
export type PodState =
  | { state: 'ready'; podIP: string }
  | { state: 'pending'; unschedulable?: string; waiting?: string }
  | { state: 'failed'; code: DriverErrorCode; reason: string }
  | { state: 'terminating' };

// kubelet's image pull failures (pkg/kubelet/images/types.go).
const IMAGE_ERRORS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
]);
// Container creation failures that no retry fixes (pkg/kubelet/container/sync_result.go).
const CONFIG_ERRORS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

function terminatedReason(pod: V1Pod): string | undefined {
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  if (terminated === undefined) return undefined;
  if (terminated.reason === 'OOMKilled') {
    return `OOMKilled: the session exceeded its memory limit (exit code ${terminated.exitCode})`;
  }
  const message = terminated.message === undefined ? '' : `: ${terminated.message}`;
  return `${terminated.reason ?? 'Terminated'} (exit code ${terminated.exitCode})${message}`;
}

/**
 * Reads a session pod's phase, conditions and container state the way `kubectl describe`
 * shows them: image pull errors, OOM kills, evictions and config errors are failures with the
 * Kubernetes reason; Unschedulable is pending (the caller bounds how long it may last).
 */
export function classifyPod(pod: V1Pod): PodState {
  if (pod.metadata?.deletionTimestamp !== undefined) return { state: 'terminating' };
  const status = pod.status ?? {};
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    if (status.reason === 'Evicted') {
      return {
        state: 'failed',
        code: 'platform_error',
        reason: `Evicted: ${status.message ?? 'the node ran short of resources'}`,
      };
    }
    const reason =
      terminatedReason(pod) ??
      `${status.reason ?? status.phase}: ${status.message ?? 'the pod ended'}`;
    return { state: 'failed', code: 'platform_error', reason };
  }
  const container = status.containerStatuses?.[0];
  const waiting = container?.state?.waiting;
  if (waiting?.reason !== undefined && IMAGE_ERRORS.has(waiting.reason)) {
    return {
      state: 'failed',
      code: 'image_not_found',
      reason: `${waiting.reason}: ${waiting.message ?? 'the image cannot be pulled'}`,
    };
  }
  if (waiting?.reason !== undefined && CONFIG_ERRORS.has(waiting.reason)) {
    const code =
      waiting.reason === 'CreateContainerConfigError' ? 'invalid_spec' : 'platform_error';
    return { state: 'failed', code, reason: `${waiting.reason}: ${waiting.message ?? ''}` };
  }
  const terminated = terminatedReason(pod);
  if (terminated !== undefined)
    return { state: 'failed', code: 'platform_error', reason: terminated };
  const ready = status.conditions?.some(
    (condition) => condition.type === 'Ready' && condition.status === 'True',
  );
  if (
    status.phase === 'Running' &&
    ready === true &&
    status.podIP !== undefined &&
    status.podIP !== ''
  ) {
    return { state: 'ready', podIP: status.podIP };
  }
  const scheduled = status.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return {
      state: 'pending',
      unschedulable: `${scheduled.reason ?? 'Unschedulable'}: ${scheduled.message ?? ''}`,
    };
  }
  return {
    state: 'pending',
    ...(waiting?.reason === undefined ? {} : { waiting: waiting.reason }),
  };
}
