import { badRequest, KubeApiError } from './kube-status';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value) as Json;
  }
  return result;
}

// Lists whose items carry a merge key in the Kubernetes API (patchMergeKey in the OpenAPI).
function mergeKeyOf(items: Json[]): string | undefined {
  if (items.length === 0 || !items.every(isObject)) return undefined;
  for (const key of ['name', 'containerPort', 'mountPath', 'port', 'ip', 'type']) {
    if (items.every((item) => (item as JsonObject)[key] !== undefined)) return key;
  }
  return undefined;
}

/**
 * Strategic merge patch for the simple cases clients send: like a merge patch, except that lists
 * of objects with a merge key (name, containerPort, …) merge item by item, and an item with
 * `$patch: delete` is removed. Directives beyond that ($retainKeys, $setElementOrder) are
 * ignored.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const current = result[key];
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value) && Array.isArray(current)) {
      const mergeKey = mergeKeyOf([...value, ...current]);
      if (mergeKey === undefined) {
        result[key] = structuredClone(value);
        continue;
      }
      const merged = [...current];
      for (const item of value as JsonObject[]) {
        const index = merged.findIndex((old) => (old as JsonObject)[mergeKey] === item[mergeKey]);
        if (item.$patch === 'delete') {
          if (index >= 0) merged.splice(index, 1);
        } else if (index >= 0) {
          merged[index] = strategicMergePatch(merged[index], item) as Json;
        } else {
          merged.push(strategicMergePatch({}, item) as Json);
        }
      }
      result[key] = merged;
    } else {
      result[key] = strategicMergePatch(current, value) as Json;
    }
  }
  return result;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document: Json, parts: string[]): { parent: Json; key: string } {
  let node: Json = document;
  for (const part of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node)
      ? node[Number(part)]
      : isObject(node)
        ? node[part]
        : undefined;
    if (next === undefined) throw badRequest(`JSON patch path not found: /${parts.join('/')}`);
    node = next;
  }
  return { parent: node, key: parts[parts.length - 1] ?? '' };
}

/** RFC 6902 JSON patch: add, remove, replace and test (move and copy are not used here). */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('a JSON patch must be an array');
  const document = structuredClone(target) as Json;
  for (const operation of operations as { op: string; path: string; value?: Json }[]) {
    const parts = pointer(operation.path);
    const { parent, key } = parentOf(document, parts);
    if (operation.op === 'test') {
      const actual = Array.isArray(parent) ? parent[Number(key)] : (parent as JsonObject)[key];
      if (JSON.stringify(actual) !== JSON.stringify(operation.value)) {
        throw new KubeApiError(422, 'Invalid', `JSON patch test failed at ${operation.path}`);
      }
    } else if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (operation.op === 'add') parent.splice(index, 0, operation.value ?? null);
      else if (operation.op === 'remove') parent.splice(index, 1);
      else if (operation.op === 'replace') parent[index] = operation.value ?? null;
      else throw badRequest(`unsupported JSON patch operation ${operation.op}`);
    } else if (isObject(parent)) {
      if (operation.op === 'add' || operation.op === 'replace')
        parent[key] = operation.value ?? null;
      else if (operation.op === 'remove') delete parent[key];
      else throw badRequest(`unsupported JSON patch operation ${operation.op}`);
    }
  }
  return document;
}

/** Applies a PATCH body according to its Content-Type, as the apiserver does. */
export function applyPatch(contentType: string, target: unknown, patch: unknown): unknown {
  const type = contentType.split(';')[0]!.trim();
  switch (type) {
    case 'application/merge-patch+json':
      return mergePatch(target, patch);
    case 'application/strategic-merge-patch+json':
      return strategicMergePatch(target, patch);
    case 'application/json-patch+json':
      return jsonPatch(target, patch);
    default:
      throw new KubeApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
  }
}
