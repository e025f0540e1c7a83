import type { KubeObject } from './kube-object';
import { badRequest } from './kube-status';

type Requirement =
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

/** A parsed label or field selector: every requirement must hold. */
export interface Selector {
  matches(values: Record<string, string>): boolean;
}

const EVERYTHING: Selector = { matches: () => true };

// Splits on commas that are not inside a parenthesised value set: "a in (x,y),b!=c".
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim() !== '') terms.push(current.trim());
  return terms;
}

function parseTerm(term: string): Requirement {
  const setMatch = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (setMatch !== null) {
    const values = setMatch[3]!.split(',').map((value) => value.trim());
    return { op: setMatch[2] as 'in' | 'notin', key: setMatch[1]!, values };
  }
  const inequality = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(term);
  if (inequality !== null) return { op: 'notin', key: inequality[1]!, values: [inequality[2]!] };
  const equality = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(term);
  if (equality !== null) return { op: 'in', key: equality[1]!, values: [equality[2]!] };
  const absent = /^!\s*([^\s!=(),]+)$/.exec(term);
  if (absent !== null) return { op: 'notexists', key: absent[1]! };
  if (/^[^\s!=(),]+$/.test(term)) return { op: 'exists', key: term };
  throw badRequest(`unable to parse requirement: ${term}`);
}

/**
 * Parses a Kubernetes label selector (=, ==, !=, in, notin, exists, !exists), the grammar of
 * k8s.io/apimachinery/pkg/labels. Field selectors use the same code with only = and !=.
 */
export function parseSelector(text: string | null | undefined): Selector {
  if (text === null || text === undefined || text.trim() === '') return EVERYTHING;
  const requirements = splitTerms(text).map(parseTerm);
  return {
    matches: (values) =>
      requirements.every((requirement) => {
        const value = values[requirement.key];
        switch (requirement.op) {
          case 'exists':
            return value !== undefined;
          case 'notexists':
            return value === undefined;
          case 'in':
            return value !== undefined && requirement.values.includes(value);
          case 'notin':
            return value === undefined || !requirement.values.includes(value);
        }
      }),
  };
}

/** The fields a field selector may name, as the apiserver exposes them for every kind. */
export function selectableFields(object: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': object.metadata.name,
    'metadata.namespace': object.metadata.namespace ?? '',
  };
  const spec = object.spec as { nodeName?: string } | undefined;
  const status = object.status as { phase?: string } | undefined;
  if (spec?.nodeName !== undefined) fields['spec.nodeName'] = spec.nodeName;
  if (status?.phase !== undefined) fields['status.phase'] = status.phase;
  return fields;
}
