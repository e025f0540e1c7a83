import type { ErrorCode } from '@streamspace/protocol';

/** Codes the client adds for failures that never reached a well-formed server reply. */
export type ClientErrorCode = 'network_error' | 'invalid_response';

/**
 * A failed API call. `code` is the server's stable error code (packages/protocol errors.ts)
 * or a client-side code; pages branch on it, never on the message text.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function isApiError(error: unknown, code?: ApiError['code']): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** A message fit to show a user for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'network_error') return 'Cannot reach the server. Check your connection.';
    if (error.code === 'not_found') return error.message || 'Not found.';
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
