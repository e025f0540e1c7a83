import type { CoreV1Api, V1Pod, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, ClockTimer } from '@streamspace/protocol';

export type PodChange = { type: 'upsert'; pod: V1Pod } | { type: 'delete'; pod: V1Pod };
export type PodListener = (change: PodChange) => void;

export interface PodWatcherDeps {
  core: CoreV1Api;
  watch: Watch;
  namespace: string;
  labelSelector: string;
  clock: Clock;
  logger: Logger;
}

export interface PodWatcher {
  /** Resolves after the first list: the cache then holds every matching pod. */
  readonly synced: Promise<void>;
  get(name: string): V1Pod | undefined;
  subscribe(listener: PodListener): () => void;
  close(): void;
}

/** First and largest pause between attempts after the API server could not be reached, in ms. */
const BACKOFF_INITIAL_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** A watch that ends sooner than this after it opened counts as a failure, to avoid a hot loop. */
const MIN_HEALTHY_WATCH_MS = 1_000;

/**
 * List-then-watch of the session pods, the informer pattern done by hand because
 * @kubernetes/client-node's informer stops for good on a dropped connection. A watch that ends
 * is resumed from the last resourceVersion; a 410 Gone (resourceVersion compacted) or a lost
 * connection leads to a fresh list, whose differences with the cache are reported as changes
 * (a pod deleted while the watch was down is reported deleted).
 */
export function createPodWatcher(deps: PodWatcherDeps): PodWatcher {
  const pods = new Map<string, V1Pod>();
  const listeners = new Set<PodListener>();
  const path = `/api/v1/namespaces/${deps.namespace}/pods`;
  let resourceVersion = '';
  let closed = false;
  let failures = 0;
  let timer: ClockTimer | undefined;
  let request: { abort(): void } | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const emit = (change: PodChange): void => {
    for (const listener of [...listeners]) listener(change);
  };

  async function relist(): Promise<void> {
    const list = await deps.core.listNamespacedPod({
      namespace: deps.namespace,
      labelSelector: deps.labelSelector,
    });
    const seen = new Set<string>();
    for (const pod of list.items) {
      const name = pod.metadata!.name!;
      seen.add(name);
      const previous = pods.get(name);
      pods.set(name, pod);
      if (previous?.metadata?.resourceVersion !== pod.metadata?.resourceVersion)
        emit({ type: 'upsert', pod });
    }
    for (const [name, pod] of [...pods]) {
      if (seen.has(name)) continue;
      pods.delete(name);
      emit({ type: 'delete', pod });
    }
    resourceVersion = list.metadata?.resourceVersion ?? '';
    markSynced();
  }

  function retryLater(error: unknown): void {
    if (closed) return;
    failures += 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(failures - 1, 10));
    deps.logger.warn(
      { err: error, delayMs: delay, failures },
      'pod watch lost; re-listing after a pause',
    );
    resourceVersion = '';
    timer = deps.clock.setTimeout(() => void run(), delay);
  }

  async function run(): Promise<void> {
    if (closed) return;
    try {
      if (resourceVersion === '') await relist();
      if (closed) return;
      let expired = false;
      const openedAt = deps.clock.now();
      request = await deps.watch.watch(
        path,
        { resourceVersion, labelSelector: deps.labelSelector, allowWatchBookmarks: true },
        (type: string, object: V1Pod & { code?: number }) => {
          if (type === 'ERROR') {
            // 410 Gone: the resourceVersion is older than the server's history.
            if (object.code === 410) expired = true;
            return;
          }
          const name = object.metadata?.name;
          if (object.metadata?.resourceVersion !== undefined)
            resourceVersion = object.metadata.resourceVersion;
          if (type === 'BOOKMARK' || name === undefined) return;
          if (type === 'DELETED') {
            pods.delete(name);
            emit({ type: 'delete', pod: object });
          } else {
            pods.set(name, object);
            emit({ type: 'upsert', pod: object });
          }
        },
        (error: unknown) => {
          request = undefined;
          if (closed) return;
          if (expired) {
            deps.logger.info({}, 'pod watch expired (410); re-listing');
            resourceVersion = '';
            void run();
          } else if (error !== null && error !== undefined) {
            retryLater(error);
          } else if (deps.clock.now() - openedAt < MIN_HEALTHY_WATCH_MS) {
            retryLater(new Error('the watch ended as soon as it opened'));
          } else {
            failures = 0;
            void run();
          }
        },
      );
    } catch (error) {
      retryLater(error);
    }
  }

  void run();

  return {
    synced,
    get: (name) => pods.get(name),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      closed = true;
      if (timer !== undefined) deps.clock.clearTimeout(timer);
      request?.abort();
      listeners.clear();
    },
  };
}
