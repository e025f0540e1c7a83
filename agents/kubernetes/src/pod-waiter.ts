import type { V1Pod } from '@kubernetes/client-node';
import type { Clock } from '@streamspace/protocol';
import type { PodWatcher } from './pod-watcher';

/** What a wait decides on each change of the pod: a value, an error, or keep waiting. */
export type PodDecision<T> = { value: T } | { error: Error } | undefined;

/** A check that runs once after `afterMs` and may end the wait with an error. */
export interface DeadlineCheck {
  afterMs: number;
  check: () => Promise<Error | undefined>;
}

export type PodWaiter = <T>(
  name: string,
  decide: (pod: V1Pod | undefined) => PodDecision<T>,
  timeoutMs: number,
  onTimeout: () => Promise<Error>,
  checks?: DeadlineCheck[],
) => Promise<T>;

/**
 * Waits on the watch cache, not by polling: `decide` runs when the watcher has synced and on
 * every change of the named pod, until it settles or `onTimeout` ends the wait.
 */
export function createPodWaiter(watcher: PodWatcher, clock: Clock): PodWaiter {
  return <T>(
    name: string,
    decide: (pod: V1Pod | undefined) => PodDecision<T>,
    ms: number,
    onTimeout: () => Promise<Error>,
    extraTimers: DeadlineCheck[] = [],
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const timers = [
        clock.setTimeout(() => void onTimeout().then(fail, fail), ms),
        ...extraTimers.map(({ afterMs, check }) =>
          clock.setTimeout(
            () =>
              void check().then(
                (error) => error !== undefined && fail(error),
                () => {},
              ),
            afterMs,
          ),
        ),
      ];
      const unsubscribe = watcher.subscribe((change) => {
        if (change.pod.metadata?.name === name) evaluate();
      });
      function finish(): void {
        settled = true;
        unsubscribe();
        for (const timer of timers) clock.clearTimeout(timer);
      }
      function fail(error: unknown): void {
        if (settled) return;
        finish();
        reject(error);
      }
      function evaluate(): void {
        if (settled) return;
        const outcome = decide(watcher.get(name));
        if (outcome === undefined) return;
        finish();
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      }
      void watcher.synced.then(evaluate);
    });
}
