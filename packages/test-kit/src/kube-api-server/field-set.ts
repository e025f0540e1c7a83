import { isDeepStrictEqual } from 'node:util';

/**
 * One field of an object, as the JSON array of the keys from the root to it (a string so it
 * fits in a Set). Fields are the leaves of the object's maps: a scalar, a list (lists are
 * atomic here, unlike the apiserver's associative lists) or an empty map.
 */
export type FieldKey = string;

type JsonMap = Record<string, unknown>;

export function isMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const fieldKey = (path: readonly string[]): FieldKey => JSON.stringify(path);
export const fieldPath = (key: FieldKey): string[] => JSON.parse(key) as string[];

/** `.spec.replicas`: how the apiserver prints a field path in conflict messages. */
export const printField = (key: FieldKey): string =>
  fieldPath(key)
    .map((part) => `.${part}`)
    .join('');

// What names the object or is set by the server is nobody's field (the apiserver's field
// manager strips the same metadata; status belongs to the status subresource).
const SERVER_FIELDS = new Set(['apiVersion', 'kind', 'status']);
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

/** Every field of an object with its value, server-set fields left out. */
export function fieldValues(object: unknown): Map<FieldKey, unknown> {
  const out = new Map<FieldKey, unknown>();
  const walk = (value: unknown, path: string[]): void => {
    if (value === undefined) return;
    if (isMap(value) && Object.keys(value).length > 0) {
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    } else {
      out.set(fieldKey(path), value);
    }
  };
  if (!isMap(object)) return out;
  for (const [key, value] of Object.entries(object)) {
    if (SERVER_FIELDS.has(key)) continue;
    if (key === 'metadata' && isMap(value)) {
      for (const [name, item] of Object.entries(value)) {
        if (!SERVER_METADATA.has(name)) walk(item, ['metadata', name]);
      }
    } else {
      walk(value, [key]);
    }
  }
  return out;
}

/** The fields that `next` adds or changes relative to `live`, and those it drops. */
export function compareFields(
  live: unknown,
  next: unknown,
): { changed: Set<FieldKey>; removed: Set<FieldKey> } {
  const before = fieldValues(live);
  const after = fieldValues(next);
  const changed = new Set<FieldKey>();
  for (const [key, value] of after) {
    if (!before.has(key) || !isDeepStrictEqual(before.get(key), value)) changed.add(key);
  }
  const removed = new Set([...before.keys()].filter((key) => !after.has(key)));
  return { changed, removed };
}

/** FieldsV1 (metav1.ManagedFieldsEntry.fieldsV1): `{"f:spec":{"f:replicas":{}}}`. */
export function toFieldsV1(fields: Iterable<FieldKey>): JsonMap {
  const root: JsonMap = {};
  for (const key of [...fields].sort()) {
    let node = root;
    for (const part of fieldPath(key)) node = (node[`f:${part}`] ??= {}) as JsonMap;
  }
  return root;
}

/**
 * The fields of a FieldsV1 set. Entries this server does not write (`k:` list items, `v:`
 * set members, `i:` indices, `.`) make their parent one atomic field.
 */
export function fromFieldsV1(fieldsV1: unknown): Set<FieldKey> {
  const out = new Set<FieldKey>();
  const walk = (node: unknown, path: string[]): void => {
    const keys = isMap(node) ? Object.keys(node) : [];
    if (keys.length === 0 || keys.some((key) => !key.startsWith('f:'))) {
      if (path.length > 0) out.add(fieldKey(path));
      return;
    }
    for (const key of keys) walk((node as JsonMap)[key], [...path, key.slice(2)]);
  };
  walk(fieldsV1, []);
  return out;
}

/**
 * Applied configuration over a live object: maps merge key by key, anything else (scalars,
 * lists) is replaced by the configuration's value.
 */
export function mergeFields(live: unknown, config: unknown): unknown {
  if (!isMap(live) || !isMap(config)) return structuredClone(config);
  const result = structuredClone(live);
  for (const [key, value] of Object.entries(config)) result[key] = mergeFields(result[key], value);
  return result;
}

/** Removes one field, and the maps it leaves empty (Go's omitempty drops those too). */
export function removeField(object: unknown, key: FieldKey): void {
  const path = fieldPath(key);
  const parents: JsonMap[] = [];
  let node: unknown = object;
  for (const part of path.slice(0, -1)) {
    if (!isMap(node)) return;
    parents.push(node);
    node = node[part];
  }
  if (!isMap(node)) return;
  delete node[path[path.length - 1]!];
  for (let depth = parents.length - 1; depth >= 0; depth -= 1) {
    const child = parents[depth]![path[depth]!];
    if (isMap(child) && Object.keys(child).length === 0) delete parents[depth]![path[depth]!];
    else break;
  }
}

/** A configuration without its nulls: an applied null means "not set" here. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMap(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([key, item]) => [key, withoutNulls(item)]),
  );
}
