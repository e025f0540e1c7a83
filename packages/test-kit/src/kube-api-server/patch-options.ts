import { parse } from 'yaml';
import { badRequest, KubeApiError, type KubeStatusCause } from './kube-status';
import type { ApplyOptions } from './resource-api';

/** The media type of a server-side apply PATCH; its body is YAML (so JSON too). */
export const APPLY_PATCH = 'application/apply-patch+yaml';

// k8s.io/apimachinery/pkg/apis/meta/v1/validation: FieldManagerMaxChars.
const FIELD_MANAGER_MAX = 128;

export const isApplyPatch = (contentType: string | undefined): boolean =>
  (contentType ?? '').split(';')[0]!.trim() === APPLY_PATCH;

/** Decodes an apply body: one YAML document holding an object. */
export function parseApplyBody(text: string): unknown {
  try {
    return text.trim() === '' ? {} : (parse(text) as unknown);
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
}

/**
 * The field manager of a write: `?fieldManager=`, else the product of the User-Agent
 * (`kubectl/v1.35.2 (linux/amd64) …` → `kubectl`), as the apiserver derives it.
 */
export function fieldManagerOf(query: URLSearchParams, userAgent: string | undefined): string {
  return query.get('fieldManager') || (userAgent ?? '').split('/')[0]!;
}

type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

function invalidOptions(kind: OptionsKind, causes: KubeStatusCause[]): KubeApiError {
  const parts = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const message = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return new KubeApiError(422, 'Invalid', `${kind}.meta.k8s.io "" is invalid: ${message}`, {
    name: '',
    group: 'meta.k8s.io',
    kind,
    causes,
  });
}

// ValidateDryRun: `All` is the only value there is.
function checkDryRun(query: URLSearchParams, causes: KubeStatusCause[]): boolean {
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((value) => value !== 'All')) {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: []string{${dryRun.map((v) => JSON.stringify(v)).join(', ')}}: supported values: "All"`,
      field: 'dryRun',
    });
  }
  return dryRun.length > 0;
}

/** `?dryRun=All` of a create, update or delete (422 on any other value). */
export function dryRunOf(query: URLSearchParams, kind: OptionsKind): boolean {
  const causes: KubeStatusCause[] = [];
  const dryRun = checkDryRun(query, causes);
  if (causes.length > 0) throw invalidOptions(kind, causes);
  return dryRun;
}

/**
 * Checks a PATCH's query as the apiserver's ValidatePatchOptions does (422 on PatchOptions):
 * apply needs a `fieldManager`, `force` is only for apply, `dryRun` may only be `All`.
 */
export function patchOptions(query: URLSearchParams, apply: boolean): ApplyOptions {
  const causes: KubeStatusCause[] = [];
  const manager = query.get('fieldManager') ?? '';
  const force = query.get('force');
  if (!apply && force !== null) {
    causes.push({
      reason: 'FieldValueForbidden',
      message: 'Forbidden: may not be specified for non-apply patch',
      field: 'force',
    });
  }
  if (apply && manager === '') {
    // kubectl defaults it to "kubectl"; controllers must set it (the apiserver's comment).
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: is required for apply patch',
      field: 'fieldManager',
    });
  }
  if (manager.length > FIELD_MANAGER_MAX) {
    causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: may not be more than ${FIELD_MANAGER_MAX} bytes`,
      field: 'fieldManager',
    });
  }
  const dryRun = checkDryRun(query, causes);
  if (causes.length > 0) throw invalidOptions('PatchOptions', causes);
  return { manager, force: force === 'true' || force === '1', dryRun };
}
