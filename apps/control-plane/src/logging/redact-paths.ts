// Fields that hold credentials, wherever they appear in a log line's fields up to two objects
// deep. Deeper ones are not covered: never log whole requests or configurations.
const SECRET_FIELDS = [
  'password',
  'token',
  'secret',
  'vncPassword',
  'agentSecret',
  'enrollmentToken',
  'ticket',
  'authorization',
  'cookie',
];

/** pino `redact` paths for every logger of the control plane. */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
