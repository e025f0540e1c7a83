import type { DriverErrorCode } from '@streamspace/protocol';

/** A driver failure with a stable code the control plane records as the session's reason. */
export class DriverError extends Error {
  override readonly name = 'DriverError';

  constructor(
    readonly code: DriverErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isDriverError(error: unknown): error is DriverError {
  return error instanceof DriverError;
}
