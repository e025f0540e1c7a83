import { ErrorBody } from '@streamspace/protocol';
import type { z } from 'zod';
import { ApiError } from './api-error';

type UnauthenticatedListener = () => void;
const unauthenticatedListeners = new Set<UnauthenticatedListener>();

/**
 * Called whenever the server answers 401 to a signed-in request, so the app can return to
 * the sign-in page from wherever the user is.
 */
export function onUnauthenticated(listener: UnauthenticatedListener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  /** Sign-in answers 401 for a wrong password; that is not an expired session. */
  skipUnauthenticatedHandler?: boolean;
}

/**
 * One REST call under /api/v1. The response is parsed with the protocol package's schema,
 * so a drifting server shows up as an `invalid_response` error instead of a broken page.
 */
export async function apiRequest<T extends z.ZodType>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  schema: T | null,
  options: RequestOptions = {},
): Promise<z.infer<T>> {
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the server.');
  }

  if (!response.ok) throw await toApiError(response, options);
  if (schema === null || response.status === 204) return undefined as z.infer<T>;

  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new ApiError(response.status, 'invalid_response', 'The server sent an unreadable reply.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    console.warn('API response did not match its schema', path, parsed.error.issues);
    throw new ApiError(response.status, 'invalid_response', 'The server sent an unexpected reply.');
  }
  return parsed.data;
}

async function toApiError(response: Response, options: RequestOptions): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy error page, for example): fall through to a generic message.
  }
  const parsed = ErrorBody.safeParse(body);
  const error = parsed.success
    ? new ApiError(
        response.status,
        parsed.data.error.code,
        parsed.data.error.message,
        parsed.data.error.details,
      )
    : new ApiError(
        response.status,
        response.status === 401 ? 'unauthenticated' : 'internal',
        `The server answered ${response.status} ${response.statusText}.`.trim(),
      );
  if (response.status === 401 && !options.skipUnauthenticatedHandler) {
    for (const listener of unauthenticatedListeners) listener();
  }
  return error;
}
