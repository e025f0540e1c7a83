import type { Logger } from 'pino';
import type { SessionChangeListener } from '@streamspace/session-driver';
import { LABEL_SESSION_ID } from './kubernetes-objects';
import type { PodWatcher } from './pod-watcher';
import { observationFromPod } from './session-observation';

export interface SessionChangeReporter {
  /** Pod names the driver itself is deleting: their disappearance is not news. */
  expectedGone: Set<string>;
  /** Sessions being started: their failures are the start's result, not news. */
  starting: Set<string>;
  subscribe(listener: SessionChangeListener): () => void;
  close(): void;
}

/**
 * Turns pod changes the driver did not cause into session changes: a pod that fails
 * (OOMKilled, Evicted, exited) or is deleted behind the agent's back is reported `failed`
 * with the Kubernetes reason, once per pod.
 */
export function createSessionChangeReporter(deps: {
  watcher: PodWatcher;
  namespace: string;
  logger: Logger;
}): SessionChangeReporter {
  const listeners = new Set<SessionChangeListener>();
  const expectedGone = new Set<string>();
  const starting = new Set<string>();
  const reported = new Set<string>();
  const unsubscribe = deps.watcher.subscribe((change) => {
    const { pod } = change;
    const name = pod.metadata?.name ?? '';
    const sessionId = pod.metadata?.labels?.[LABEL_SESSION_ID];
    const uid = pod.metadata?.uid ?? name;
    if (change.type === 'delete' && reported.delete(uid)) return; // bounded: forget gone pods
    if (sessionId === undefined || starting.has(sessionId) || reported.has(uid)) return;
    if (change.type === 'delete') {
      if (expectedGone.has(name)) return;
      reported.add(uid);
      deps.logger.warn({ sessionId }, 'session pod deleted outside the driver');
      const observation = {
        sessionId,
        status: 'failed' as const,
        reason: 'the session pod was deleted outside StreamSpace',
        details: { namespace: deps.namespace, pod: name },
      };
      for (const listener of [...listeners]) listener(observation);
      return;
    }
    const observation = observationFromPod(pod, deps.namespace);
    if (observation.status !== 'failed') return;
    reported.add(uid);
    deps.logger.warn({ sessionId, reason: observation.reason }, 'session pod failed');
    for (const listener of [...listeners]) listener(observation);
  });
  return {
    expectedGone,
    starting,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      unsubscribe();
      listeners.clear();
    },
  };
}
