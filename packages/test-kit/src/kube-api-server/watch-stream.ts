import type { ServerResponse } from 'node:http';
import type { KubeObject } from './kube-object';
import { expired } from './kube-status';
import { parseSelector, selectableFields } from './label-selector';
import type { ObjectStore, StoreEvent, WatchEventType } from './object-store';
import { groupVersion, type ResourceType } from './resource-types';

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  labelSelector: string | null;
  fieldSelector: string | null;
  resourceVersion: string | null;
  timeoutSeconds: number | undefined;
  /** `allowWatchBookmarks=true`: send a BOOKMARK with the current resourceVersion this often (ms). */
  bookmarkIntervalMs: number | undefined;
  /**
   * `sendInitialEvents=true` (a "watch list", KEP-3157; client-go's WatchListClient, on by
   * default in kubectl 1.35): ADDED for every object that matches now, then a BOOKMARK
   * annotated `k8s.io/initial-events-end: "true"`, then changes. The caller has checked
   * `resourceVersionMatch=NotOlderThan` and `allowWatchBookmarks=true`, as the apiserver does.
   */
  sendInitialEvents?: boolean;
}

/** The annotation on the bookmark that ends a watch list's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/**
 * Serves one `?watch=1` request: JSON lines of {type, object} on a chunked 200 response, as the
 * apiserver does. A resourceVersion older than the kept history gets an ERROR event carrying a
 * 410 Expired Status and the stream ends (the client must re-list). An object that stops or
 * starts matching the selectors is reported as DELETED or ADDED, as the watch cache does.
 * Returns a function that ends the stream: abruptly (a lost connection) or cleanly (the
 * apiserver ending a watch, as it does every few minutes).
 */
export function serveWatch(
  store: ObjectStore,
  request: WatchRequest,
  response: ServerResponse,
): (abrupt: boolean) => void {
  const labels = parseSelector(request.labelSelector);
  const fields = parseSelector(request.fieldSelector);
  const matches = (object: KubeObject | undefined): boolean =>
    object !== undefined &&
    (request.namespace === undefined || object.metadata.namespace === request.namespace) &&
    labels.matches(object.metadata.labels ?? {}) &&
    fields.matches(selectableFields(object));

  response.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  response.flushHeaders();
  const send = (type: WatchEventType | 'ERROR' | 'BOOKMARK', object: unknown): void => {
    response.write(`${JSON.stringify({ type, object })}\n`);
  };

  let delivered = 0;
  const deliver = (event: StoreEvent): void => {
    if (event.resourceVersion <= delivered || event.resource !== request.type) return;
    delivered = event.resourceVersion;
    const now = matches(event.type === 'DELETED' ? undefined : event.object);
    const before = matches(event.previous) || (event.type === 'DELETED' && matches(event.object));
    if (event.type === 'DELETED') {
      if (before) send('DELETED', event.object);
    } else if (now && before) send('MODIFIED', event.object);
    else if (now) send('ADDED', event.object);
    else if (before) send('DELETED', event.object);
  };

  const bookmark = (annotations?: Record<string, string>): void => {
    send('BOOKMARK', {
      kind: request.type.kind,
      apiVersion: groupVersion(request.type),
      metadata: {
        resourceVersion: String(store.resourceVersion),
        ...(annotations === undefined ? {} : { annotations }),
      },
    });
  };

  const requested = request.resourceVersion;
  if (request.sendInitialEvents === true) {
    // NotOlderThan any resourceVersion: the store is always at its newest, so the current
    // state satisfies every requested one.
    for (const object of store.list(request.type, request.namespace)) {
      if (matches(object)) send('ADDED', object);
    }
    delivered = store.resourceVersion;
    bookmark({ [INITIAL_EVENTS_END]: 'true' });
  } else if (requested === null || requested === '' || requested === '0') {
    // "Get state and start at most recent": synthetic ADDED events for what exists now.
    for (const object of store.list(request.type, request.namespace)) {
      if (matches(object)) send('ADDED', object);
    }
    delivered = store.resourceVersion;
  } else {
    const since = Number(requested);
    const events = Number.isFinite(since) ? store.eventsSince(request.type, since) : 'expired';
    if (events === 'expired') {
      send('ERROR', expired(requested, store.oldestResourceVersion).toStatus());
      response.end();
      return () => {};
    }
    delivered = since;
    for (const event of events) deliver(event);
    delivered = Math.max(delivered, store.resourceVersion);
  }

  const unsubscribe = store.subscribe(deliver);
  const timer =
    request.timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => response.end(), request.timeoutSeconds * 1000);
  timer?.unref();
  // A bookmark promises that every change up to its resourceVersion was sent: true here,
  // since store events are delivered synchronously. Clients resume from it after compaction.
  const bookmarks =
    request.bookmarkIntervalMs === undefined
      ? undefined
      : setInterval(() => bookmark(), request.bookmarkIntervalMs);
  bookmarks?.unref();
  response.on('close', () => {
    unsubscribe();
    if (timer !== undefined) clearTimeout(timer);
    if (bookmarks !== undefined) clearInterval(bookmarks);
  });
  return (abrupt) => {
    unsubscribe();
    if (abrupt) response.socket?.destroy();
    else response.end();
  };
}
