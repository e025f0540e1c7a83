import type { ErrorCode } from '@streamspace/protocol';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  illegal_transition: 409,
  no_agent_available: 409,
  agent_offline: 409,
  enrollment_token_invalid: 401,
  agent_identity_taken: 409,
  protocol_version_unsupported: 400,
  unknown_message: 400,
  invalid_message: 400,
  ticket_invalid: 401,
  origin_forbidden: 403,
  session_not_running: 409,
  rate_limited: 429,
  invalid_cursor: 400,
  internal: 500,
};

/** A domain error with a stable code; the one error handler maps it to HTTP (CONVENTIONS #4). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = STATUS_BY_CODE[code];
  }
}

export function notFound(what: string): ApiError {
  return new ApiError('not_found', `${what} not found`);
}
