import * as models from '@kubernetes/client-node';
import { badRequest } from './kube-status';
import type { ResourceType } from './resource-types';

/** `?fieldValidation=`: what the apiserver does with fields the schema does not know. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

type Attribute = { baseName: string; type: string };
type Model = { getAttributeTypeMap(): Attribute[] };

// The schema: @kubernetes/client-node's models are generated from the Kubernetes OpenAPI
// document, one class per definition, each listing its fields (JSON name and type).
const MODELS = models as unknown as Record<string, Model | undefined>;
const SCALARS = new Set(['string', 'boolean', 'number', 'Date', 'IntOrString', 'any', 'object']);
const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || SCALARS.has(type)) return;
  const array = ARRAY.exec(type);
  if (array !== null) {
    if (Array.isArray(value)) {
      value.forEach((item, index) => unknownFields(item, array[1]!, `${path}[${index}]`, out));
    }
    return;
  }
  const map = MAP.exec(type);
  if (map !== null) {
    if (typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        unknownFields(item, map[1]!, `${path}[${key}]`, out);
      }
    }
    return;
  }
  const model = MODELS[type];
  if (model === undefined || typeof value !== 'object' || Array.isArray(value)) return;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value)) {
    // Strategic merge patch directives ($patch, $setElementOrder/…, $retainKeys, …).
    if (key.startsWith('$')) continue;
    const field = path === '' ? key : `${path}.${key}`;
    const attribute = attributes.get(key);
    if (attribute === undefined) out.push(field);
    else unknownFields(item, attribute, field, out);
  }
}

/**
 * Server-side field validation (KEP-2885) of a create, update or patch body against the
 * kind's schema: unknown fields are a 400 `strict decoding error` with `Strict`, a `Warning:
 * 299` header per field with `Warn` (the default), nothing with `Ignore`. Returns the warnings.
 */
export function validateFields(type: ResourceType, body: unknown, mode: string | null): string[] {
  const validation: FieldValidation = mode === 'Strict' || mode === 'Ignore' ? mode : 'Warn';
  if (validation === 'Ignore') return [];
  const found: string[] = [];
  unknownFields(body, `V1${type.kind}`, '', found);
  if (found.length === 0) return [];
  const messages = found.map((field) => `unknown field "${field}"`);
  if (validation === 'Strict') {
    throw badRequest(
      `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${messages.join(', ')}`,
    );
  }
  return messages;
}
