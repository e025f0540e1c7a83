/** A metav1.Status cause (k8s.io/apimachinery/pkg/apis/meta/v1 StatusCause). */
export interface KubeStatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** The reasons this server returns; the same strings as metav1.StatusReason. */
export type KubeStatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'Unauthorized'
  | 'Expired'
  | 'InternalError';

/** An API failure that is answered with a metav1.Status body and its HTTP code. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';

  constructor(
    readonly code: number,
    readonly reason: KubeStatusReason,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: KubeStatusCause[] },
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

function qualified(resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(resource: string, group: string, name: string): KubeApiError {
  return new KubeApiError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

export function alreadyExists(resource: string, group: string, name: string): KubeApiError {
  return new KubeApiError(
    409,
    'AlreadyExists',
    `${qualified(resource, group)} "${name}" already exists`,
    { name, group, kind: resource },
  );
}

export function conflict(resource: string, group: string, name: string): KubeApiError {
  return new KubeApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );
}

export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: KubeStatusCause[],
): KubeApiError {
  const summary = causes.map((cause) => `${cause.field}: ${cause.message}`).join(', ');
  return new KubeApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group,
    kind,
    causes,
  });
}

export function badRequest(message: string): KubeApiError {
  return new KubeApiError(400, 'BadRequest', message);
}

/** The watch ERROR event a too-old resourceVersion gets (apiserver's watch cache answers so). */
export function expired(requested: string, oldest: number): KubeApiError {
  return new KubeApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}
