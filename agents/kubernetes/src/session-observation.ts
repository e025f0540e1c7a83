import type { V1Pod } from '@kubernetes/client-node';
import type { SessionObservation } from '@streamspace/protocol';
import { ANNOTATION_VNC_PORT, LABEL_SESSION_ID } from './kubernetes-objects';
import { classifyPod } from './pod-status';

/** What the driver reports for a session pod (inspect, list, start). */
export function observationFromPod(pod: V1Pod, namespace: string): SessionObservation {
  const sessionId = pod.metadata!.labels![LABEL_SESSION_ID]!;
  const details: Record<string, string> = {
    namespace,
    pod: pod.metadata!.name!,
    phase: pod.status?.phase ?? 'Pending',
  };
  if (pod.spec?.nodeName !== undefined) details.node = pod.spec.nodeName;
  if (pod.status?.podIP !== undefined) details.podIP = pod.status.podIP;
  const state = classifyPod(pod);
  switch (state.state) {
    case 'ready': {
      const port = Number(pod.metadata?.annotations?.[ANNOTATION_VNC_PORT] ?? 5900);
      return { sessionId, status: 'running', endpoint: { host: state.podIP, port }, details };
    }
    case 'failed':
      return { sessionId, status: 'failed', reason: state.reason.slice(0, 1024), details };
    case 'terminating':
      return { sessionId, status: 'stopped', reason: 'the pod is terminating', details };
    case 'pending':
      // Compute is allocated or being allocated: not stopped, not serving yet (no endpoint).
      return {
        sessionId,
        status: 'running',
        reason: (state.unschedulable ?? state.waiting ?? 'the pod is starting').slice(0, 1024),
        details,
      };
  }
}

/** A hibernated session: its Secret remains, its pod is gone, its home claim is kept. */
export function hibernatedObservation(sessionId: string, namespace: string): SessionObservation {
  return {
    sessionId,
    status: 'stopped',
    reason: 'hibernated',
    details: { namespace, hibernated: 'true' },
  };
}
