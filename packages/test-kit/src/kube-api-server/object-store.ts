import { randomUUID } from 'node:crypto';
import { timestamp, type KubeObject } from './kube-object';
import type { ResourceType } from './resource-types';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change to one object, as the watch history keeps it (etcd's revision log in miniature). */
export interface StoreEvent {
  resourceVersion: number;
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED change, to tell selector transitions apart. */
  previous?: KubeObject;
}

function keyOf(type: ResourceType): string {
  return `${type.group}/${type.resource}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * Every object of the test API server, with one cluster-wide resourceVersion counter as etcd
 * has, and a bounded history of changes for watches to resume from. Objects go in and out as
 * deep copies so nobody mutates the store behind its back.
 */
export class ObjectStore {
  private revision = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Events at or below this revision were dropped: a watch from before it gets 410 Gone. */
  private compactedRevision = 0;
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.revision;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(keyOf(type))?.get(objectKey(namespace, name));
    return found === undefined ? undefined : structuredClone(found);
  }

  list(type: ResourceType, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(keyOf(type))?.values() ?? [])];
    return all
      .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
      .map((object) => structuredClone(object));
  }

  /** Stores a new object; the caller has checked that the name is free. */
  add(type: ResourceType, object: KubeObject, now: Date): KubeObject {
    const stored = structuredClone(object);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = timestamp(now);
    return this.write(type, 'ADDED', stored, undefined);
  }

  /** Replaces an existing object with a new revision of it. */
  update(type: ResourceType, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const previous = this.objects.get(keyOf(type))?.get(key);
    if (previous === undefined) throw new Error(`update of missing object ${key}`);
    const stored = structuredClone(object);
    stored.metadata.uid = previous.metadata.uid;
    stored.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    return this.write(type, 'MODIFIED', stored, previous);
  }

  remove(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const previous = this.objects.get(keyOf(type))?.get(objectKey(namespace, name));
    if (previous === undefined) return undefined;
    return this.write(type, 'DELETED', structuredClone(previous), previous);
  }

  private write(
    type: ResourceType,
    eventType: WatchEventType,
    object: KubeObject,
    previous: KubeObject | undefined,
  ): KubeObject {
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    const bucketKey = keyOf(type);
    let bucket = this.objects.get(bucketKey);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(bucketKey, bucket);
    }
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (eventType === 'DELETED') bucket.delete(key);
    else bucket.set(key, object);
    const event: StoreEvent = {
      resourceVersion: this.revision,
      type: eventType,
      resource: type,
      object: structuredClone(object),
      ...(previous === undefined ? {} : { previous: structuredClone(previous) }),
    };
    this.history.push(event);
    if (this.history.length > this.historyLimit)
      this.dropHistory(this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) listener(event);
    return structuredClone(object);
  }

  private dropHistory(count: number): void {
    const dropped = this.history.splice(0, count);
    const last = dropped[dropped.length - 1];
    if (last !== undefined) this.compactedRevision = last.resourceVersion;
  }

  /** Forget the whole history, as an etcd compaction does: older watches must re-list. */
  compact(): void {
    this.dropHistory(this.history.length);
    this.compactedRevision = this.revision;
  }

  /**
   * The events of one resource after `since`, or 'expired' when the history no longer reaches
   * back that far (the watch then gets 410 Gone).
   */
  eventsSince(type: ResourceType, since: number): StoreEvent[] | 'expired' {
    if (since < this.compactedRevision) return 'expired';
    return this.history.filter(
      (event) => event.resourceVersion > since && keyOf(event.resource) === keyOf(type),
    );
  }

  get oldestResourceVersion(): number {
    return this.compactedRevision;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
