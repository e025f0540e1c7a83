import { z } from 'zod';

/**
 * Stable error codes. Clients branch on `code`, never on message text
 * (CONVENTIONS.md #4). REST errors carry them in `{ error: { code, message } }`.
 */
export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'payload_too_large',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'illegal_transition',
  'no_agent_available',
  'agent_offline',
  'enrollment_token_invalid',
  'agent_identity_taken',
  'protocol_version_unsupported',
  'unknown_message',
  'invalid_message',
  'ticket_invalid',
  'origin_forbidden',
  'session_not_running',
  'rate_limited',
  /** A page `cursor` the server did not make (malformed, truncated, of another list). */
  'invalid_cursor',
  'internal',
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Errors a driver reports for a failed command. */
export const DRIVER_ERROR_CODES = [
  'image_not_found',
  'invalid_spec',
  'session_not_found',
  'start_timeout',
  'capacity_exhausted',
  'platform_error',
] as const;
export const DriverErrorCode = z.enum(DRIVER_ERROR_CODES);
export type DriverErrorCode = z.infer<typeof DriverErrorCode>;
