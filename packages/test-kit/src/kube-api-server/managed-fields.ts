import { timestamp, type KubeObject } from './kube-object';
import { KubeApiError, type KubeStatusCause } from './kube-status';
import {
  compareFields,
  fieldValues,
  fromFieldsV1,
  isMap,
  mergeFields,
  printField,
  removeField,
  toFieldsV1,
  type FieldKey,
} from './field-set';

/** metav1.ManagedFieldsEntry, as stored in `metadata.managedFields`. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
}

/** Who writes: the `fieldManager` of the request (or its User-Agent's product). */
export interface Writer {
  manager: string;
  /** The group/version the request was made in (`apps/v1`). */
  apiVersion: string;
  now: Date;
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string | undefined;
  fields: Set<FieldKey>;
}

// The apiserver tells managers apart by name and operation, and Update managers also by the
// version they wrote in (structured-merge-diff's manager identifier).
const sameOwner = (a: Owner, b: Pick<Owner, 'manager' | 'operation' | 'apiVersion'>): boolean =>
  a.manager === b.manager &&
  a.operation === b.operation &&
  (a.operation === 'Apply' || a.apiVersion === b.apiVersion);

function decode(entries: unknown): Owner[] {
  if (!Array.isArray(entries)) return [];
  return entries.filter(isMap).map((entry) => ({
    manager: String(entry.manager ?? ''),
    operation: entry.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(entry.apiVersion ?? ''),
    time: typeof entry.time === 'string' ? entry.time : undefined,
    fields: fromFieldsV1(entry.fieldsV1),
  }));
}

/** Apply entries first, then by time, manager and version, as the apiserver sorts them. */
function encode(owners: Owner[]): ManagedFieldsEntry[] {
  return owners
    .filter((owner) => owner.fields.size > 0)
    .sort(
      (a, b) =>
        a.operation.localeCompare(b.operation) ||
        (a.time ?? '').localeCompare(b.time ?? '') ||
        a.manager.localeCompare(b.manager) ||
        a.apiVersion.localeCompare(b.apiVersion),
    )
    .map((owner) => ({
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      ...(owner.time === undefined ? {} : { time: owner.time }),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(owner.fields),
    }));
}

function describe(owner: Owner): string {
  const name = JSON.stringify(owner.manager);
  return owner.operation === 'Update' ? `${name} using ${owner.apiVersion}` : name;
}

/** 409 Conflict with one FieldManagerConflict cause per field (the apiserver's wording). */
function conflictError(conflicts: { owner: Owner; field: FieldKey }[]): KubeApiError {
  const causes: KubeStatusCause[] = conflicts.map(({ owner, field }) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describe(owner)}`,
    field: printField(field),
  }));
  if (conflicts.length === 1) {
    const [{ owner, field }] = conflicts as [{ owner: Owner; field: FieldKey }];
    return new KubeApiError(
      409,
      'Conflict',
      `Apply failed with 1 conflict: conflict with ${describe(owner)}: ${printField(field)}`,
      { causes },
    );
  }
  const byManager = new Map<string, string[]>();
  for (const { owner, field } of conflicts) {
    const key = describe(owner);
    byManager.set(key, [...(byManager.get(key) ?? []), printField(field)]);
  }
  const lines = [...byManager.keys()]
    .sort()
    .flatMap((manager) => [
      `conflicts with ${manager}:`,
      ...byManager.get(manager)!.map((f) => `- ${f}`),
    ]);
  return new KubeApiError(
    409,
    'Conflict',
    `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`,
    { causes },
  );
}

/**
 * Takes the fields a write changed away from their other owners (a conflict unless forced)
 * and the fields it removed away from everyone (structured-merge-diff's Updater.update).
 */
function transfer(
  owners: Owner[],
  self: Owner | undefined,
  changes: { changed: Set<FieldKey>; removed: Set<FieldKey> },
  force: boolean,
): Owner[] {
  const others = owners.filter((owner) => owner !== self);
  const conflicts = others.flatMap((owner) =>
    [...owner.fields]
      .filter((field) => changes.changed.has(field))
      .map((field) => ({ owner, field })),
  );
  if (!force && conflicts.length > 0) throw conflictError(conflicts);
  for (const owner of others) {
    for (const field of [...changes.changed, ...changes.removed]) owner.fields.delete(field);
  }
  return owners.filter((owner) => owner.fields.size > 0 || owner === self);
}

/**
 * Records a create, update or non-apply patch in `next.metadata.managedFields`: the writer
 * (operation Update) gains the fields it added or changed, other owners lose them, and a
 * removed field is nobody's. Managed fields sent in the body replace the stored ones, as the
 * apiserver allows (kubectl's client-side to server-side migration relies on it).
 */
export function recordUpdate(live: KubeObject | undefined, next: KubeObject, writer: Writer): void {
  const sent = next.metadata.managedFields;
  const base = Array.isArray(sent) && sent.length > 0 ? sent : live?.metadata.managedFields;
  let owners = decode(base);
  const changes = compareFields(live ?? {}, next);
  const identity = {
    manager: writer.manager,
    operation: 'Update' as const,
    apiVersion: writer.apiVersion,
  };
  let self = owners.find((owner) => sameOwner(owner, identity));
  owners = transfer(owners, self, changes, true);
  if (changes.changed.size > 0) {
    if (self === undefined) {
      self = { ...identity, time: undefined, fields: new Set() };
      owners.push(self);
    }
    for (const field of changes.removed) self.fields.delete(field);
    for (const field of changes.changed) self.fields.add(field);
    self.time = timestamp(writer.now);
  } else if (self !== undefined) {
    for (const field of changes.removed) self.fields.delete(field);
  }
  setManagedFields(next, encode(owners));
}

function setManagedFields(object: KubeObject, entries: ManagedFieldsEntry[]): void {
  if (entries.length > 0) object.metadata.managedFields = entries;
  else delete object.metadata.managedFields;
}

/**
 * Server-side apply of `config` over `live` (undefined: the object is new) by an Apply
 * manager: the configuration merges over the object, the fields the manager applied before and
 * leaves out now are removed unless someone else owns them too, and a field the configuration
 * changes while another manager owns it is a 409 Conflict unless `force`. Returns the object to
 * store, with its managed fields.
 */
export function applyConfig(
  live: KubeObject | undefined,
  config: KubeObject,
  writer: Writer,
  force: boolean,
): KubeObject {
  let owners = decode(live?.metadata.managedFields);
  const identity = { manager: writer.manager, operation: 'Apply' as const, apiVersion: '' };
  const self = owners.find((owner) => sameOwner(owner, identity));
  const applied = new Set(fieldValues(config).keys());
  const next = (
    live === undefined ? structuredClone(config) : mergeFields(live, config)
  ) as KubeObject;
  for (const field of self?.fields ?? []) {
    const ownedByOthers = owners.some((owner) => owner !== self && owner.fields.has(field));
    if (!applied.has(field) && !ownedByOthers) removeField(next, field);
  }
  const changes = compareFields(live ?? {}, next);
  owners = transfer(owners, self, changes, force);
  const mine: Owner = self ?? { ...identity, time: undefined, fields: new Set() };
  if (self === undefined) owners.push(mine);
  const touched = changes.changed.size > 0 || changes.removed.size > 0;
  if (touched || mine.time === undefined || !sameSet(mine.fields, applied)) {
    mine.time = timestamp(writer.now);
  }
  mine.fields = applied;
  mine.apiVersion = writer.apiVersion;
  setManagedFields(next, encode(owners));
  return next;
}

function sameSet(a: Set<FieldKey>, b: Set<FieldKey>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}
