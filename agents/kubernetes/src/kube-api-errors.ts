import { ApiException } from '@kubernetes/client-node';
import { DriverError } from '@streamspace/session-driver';

/** The HTTP status of a failed Kubernetes API call, or undefined for a network failure. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const code = (error as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The Status message the API server sent, for error reasons users read. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    try {
      const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
        message?: string;
      };
      if (body?.message !== undefined) return body.message;
    } catch {
      // Not a Status body.
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Resolves to undefined when the call answers 404 (idempotent deletes and reads). */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** Resolves to undefined when the object already exists (idempotent creates). */
export async function unlessExists<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (statusOf(error) === 409) return undefined;
    throw error;
  }
}

export function platformError(doing: string, error: unknown): DriverError {
  if (error instanceof DriverError) return error;
  const status = statusOf(error);
  // 422 Invalid: the API server refused an object built from the spec.
  const code = status === 422 ? 'invalid_spec' : 'platform_error';
  return new DriverError(code, `${doing}: ${messageOf(error)}`, { cause: error });
}
