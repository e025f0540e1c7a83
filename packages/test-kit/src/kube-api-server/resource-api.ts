import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { timestamp, type KubeObject } from './kube-object';
import { alreadyExists, badRequest, conflict, KubeApiError, notFound } from './kube-status';
import { parseSelector, selectableFields } from './label-selector';
import { withoutNulls } from './field-set';
import { applyConfig, recordUpdate, type Writer } from './managed-fields';
import type { ObjectStore } from './object-store';
import { applyPatch } from './patch';
import { findResourceType, groupVersion, type ResourceType } from './resource-types';
import { normaliseUpdate, validateNew } from './validation';

/**
 * Decides how a DELETE proceeds: 'now' removes the object at once; 'graceful' only marks it
 * (deletionTimestamp) and the owner of the hook removes it later, as the kubelet does for pods
 * and the pvc-protection controller for claims in use.
 */
export type DeletionHook = (
  object: KubeObject,
  gracePeriodSeconds: number | undefined,
) => 'now' | 'graceful';

/** Who writes and whether for real: the query of a create, update, patch or delete. */
export interface WriteOptions {
  /** The field manager, recorded in `metadata.managedFields`; internal writers pass none. */
  manager?: string;
  /** `dryRun=All`: answer as the write would, store nothing. */
  dryRun?: boolean;
}

/** The query of a server-side apply (PatchOptions), checked by the HTTP layer. */
export interface ApplyOptions extends WriteOptions {
  /** `fieldManager`: required for apply. */
  manager: string;
  /** `force=true`: take the conflicting fields from their other managers. */
  force: boolean;
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
}

const NAMESPACES = findResourceType('', 'v1', 'namespaces')!;

/** The verbs of the Kubernetes REST API on an ObjectStore, shared by HTTP and the kubelet. */
export class ResourceApi {
  private readonly deletionHooks = new Map<string, DeletionHook>();

  constructor(
    readonly store: ObjectStore,
    private readonly now: () => Date,
  ) {}

  onDelete(kind: string, hook: DeletionHook): void {
    this.deletionHooks.set(kind, hook);
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (namespace === undefined)
      throw badRequest('the namespace of the object does not match the namespace on the request');
    if (this.store.get(NAMESPACES, undefined, namespace) === undefined)
      throw notFound('namespaces', '', namespace);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(type, namespace, name);
    if (found === undefined) throw notFound(type.resource, type.group, name);
    return found;
  }

  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): KubeObject[] {
    const labels = parseSelector(options.labelSelector);
    const fields = parseSelector(options.fieldSelector);
    return this.store
      .list(type, namespace)
      .filter(
        (object) =>
          labels.matches(object.metadata.labels ?? {}) && fields.matches(selectableFields(object)),
      );
  }

  create(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const object = this.checkBody(type, namespace, body);
    if ((object.metadata.name ?? '') === '' && object.metadata.generateName !== undefined) {
      object.metadata.name = `${object.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    }
    validateNew(type, object);
    this.requireNamespace(type, object.metadata.namespace);
    if (this.store.get(type, object.metadata.namespace, object.metadata.name) !== undefined) {
      throw alreadyExists(type.resource, type.group, object.metadata.name);
    }
    delete object.metadata.resourceVersion;
    delete object.metadata.deletionTimestamp;
    if (options.manager !== undefined) {
      recordUpdate(undefined, object, this.writer(type, options.manager));
    }
    return options.dryRun ? this.dryCreated(object) : this.store.add(type, object, this.now());
  }

  /** A dry-run create is answered as the create would be: uid and timestamp, no version. */
  private dryCreated(object: KubeObject): KubeObject {
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = timestamp(this.now());
    return object;
  }

  /**
   * Server-side apply (PATCH with `application/apply-patch+yaml`): creates the object when it
   * does not exist, otherwise merges the configuration with field ownership.
   */
  apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: ApplyOptions,
  ): { object: KubeObject; created: boolean } {
    const config = this.checkBody(type, namespace, withoutNulls(body));
    config.metadata.name ||= name;
    if (config.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    // The status subresource has its own writers; an applied status is not the manager's.
    delete config.status;
    const writer = this.writer(type, options.manager);
    const current = this.store.get(type, config.metadata.namespace, name);
    if (current === undefined) {
      const object = applyConfig(undefined, config, writer, options.force);
      validateNew(type, object);
      this.requireNamespace(type, object.metadata.namespace);
      delete object.metadata.resourceVersion;
      if (options.dryRun) return { object: this.dryCreated(object), created: true };
      return { object: this.store.add(type, object, writer.now), created: true };
    }
    const sentVersion = config.metadata.resourceVersion;
    if (sentVersion !== undefined && sentVersion !== current.metadata.resourceVersion) {
      throw conflict(type.resource, type.group, name);
    }
    const next = applyConfig(current, config, writer, options.force);
    this.prepareUpdate(type, current, next);
    // An apply that changes nothing is no write: same resourceVersion, no watch event.
    if (sameButTimes(next, current)) return { object: current, created: false };
    if (options.dryRun) return { object: next, created: false };
    return { object: this.commit(type, next), created: false };
  }

  replace(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const object = this.checkBody(type, namespace, body);
    if (object.metadata.name !== name)
      throw badRequest('the name of the object does not match the name on the URL');
    const current = this.get(type, namespace, name);
    const sentVersion = object.metadata.resourceVersion;
    if (
      sentVersion !== undefined &&
      sentVersion !== '' &&
      sentVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(type.resource, type.group, name);
    }
    return this.write(type, current, object, options);
  }

  /** PUT/PATCH of pods/status: only the status changes, whatever else the body says. */
  replaceStatus(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    status: unknown,
  ): KubeObject {
    const current = this.get(type, namespace, name);
    return this.store.update(type, { ...current, status });
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    subresource?: 'status',
    options: WriteOptions = {},
  ): KubeObject {
    const current = this.get(type, namespace, name);
    const patched = applyPatch(contentType, current, body) as KubeObject;
    if (subresource === 'status') {
      if (options.dryRun) return { ...current, status: patched.status };
      return this.replaceStatus(type, namespace, name, patched.status);
    }
    const sentVersion = patched.metadata?.resourceVersion;
    if (sentVersion !== undefined && sentVersion !== current.metadata.resourceVersion) {
      throw conflict(type.resource, type.group, name);
    }
    patched.metadata = { ...patched.metadata, name, namespace: current.metadata.namespace };
    return this.write(type, current, patched, options);
  }

  private writer(type: ResourceType, manager: string): Writer {
    return { manager, apiVersion: groupVersion(type), now: this.now() };
  }

  /** What an update keeps of the stored object whoever writes it. */
  private prepareUpdate(type: ResourceType, current: KubeObject, next: KubeObject): void {
    normaliseUpdate(type, next);
    // Spec and status belong to their writers: a plain update keeps the stored status.
    if (current.status !== undefined) next.status = current.status;
    next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    if (current.metadata.deletionGracePeriodSeconds !== undefined) {
      next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    }
  }

  private write(
    type: ResourceType,
    current: KubeObject,
    next: KubeObject,
    options: WriteOptions,
  ): KubeObject {
    this.prepareUpdate(type, current, next);
    if (options.manager !== undefined) {
      recordUpdate(current, next, this.writer(type, options.manager));
    } else if (
      current.metadata.managedFields !== undefined &&
      next.metadata.managedFields === undefined
    ) {
      next.metadata.managedFields = current.metadata.managedFields;
    }
    return options.dryRun ? next : this.commit(type, next);
  }

  private commit(type: ResourceType, next: KubeObject): KubeObject {
    const written = this.store.update(type, next);
    return this.finishIfReleased(type, written) ?? written;
  }

  // A terminating object whose finalizers are gone and whose hook no longer holds it is removed.
  private finishIfReleased(type: ResourceType, object: KubeObject): KubeObject | undefined {
    if (object.metadata.deletionTimestamp === undefined) return undefined;
    if ((object.metadata.finalizers ?? []).length > 0) return undefined;
    const hook = this.deletionHooks.get(type.kind);
    if (hook !== undefined && hook(object, undefined) === 'graceful') return undefined;
    return this.store.remove(type, object.metadata.namespace, object.metadata.name);
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    gracePeriodSeconds?: number,
    dryRun = false,
  ): KubeObject {
    const current = this.get(type, namespace, name);
    if (dryRun || current.metadata.deletionTimestamp !== undefined) return current;
    const hook = this.deletionHooks.get(type.kind);
    const graceful =
      (current.metadata.finalizers ?? []).length > 0 ||
      (hook !== undefined && hook(current, gracePeriodSeconds) === 'graceful');
    if (!graceful) return this.store.remove(type, namespace, name)!;
    current.metadata.deletionTimestamp = timestamp(this.now());
    current.metadata.deletionGracePeriodSeconds =
      gracePeriodSeconds ??
      (current.spec as { terminationGracePeriodSeconds?: number } | undefined)
        ?.terminationGracePeriodSeconds ??
      30;
    return this.store.update(type, current);
  }

  /** Removes an object a hook held back (the container is gone, the claim is unused). */
  finalize(type: ResourceType, namespace: string | undefined, name: string): void {
    this.store.remove(type, namespace, name);
  }

  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
    dryRun = false,
  ): KubeObject[] {
    return this.list(type, namespace, options).map((object) =>
      this.delete(type, object.metadata.namespace, object.metadata.name, undefined, dryRun),
    );
  }

  private checkBody(type: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('the request body must be a JSON object');
    const object = structuredClone(body) as KubeObject;
    object.metadata ??= { name: '' };
    if (object.apiVersion !== undefined && object.apiVersion !== groupVersion(type)) {
      throw badRequest(
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${groupVersion(type)})`,
      );
    }
    if (object.kind !== undefined && object.kind !== type.kind) {
      throw badRequest(
        `the kind in the data (${object.kind}) does not match the expected kind (${type.kind})`,
      );
    }
    object.apiVersion = groupVersion(type);
    object.kind = type.kind;
    if (type.namespaced) {
      if (
        object.metadata.namespace !== undefined &&
        namespace !== undefined &&
        object.metadata.namespace !== namespace
      ) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace;
    } else {
      delete object.metadata.namespace;
    }
    return object;
  }
}

/** Equal as JSON once the managed fields' timestamps are left out. */
function sameButTimes(a: KubeObject, b: KubeObject): boolean {
  const canonical = (object: KubeObject): unknown => {
    const copy = JSON.parse(JSON.stringify(object)) as KubeObject;
    for (const entry of (copy.metadata.managedFields ?? []) as { time?: string }[])
      delete entry.time;
    return copy;
  };
  return isDeepStrictEqual(canonical(a), canonical(b));
}

export function isKubeApiError(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError;
}
