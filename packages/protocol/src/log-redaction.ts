// Fields of the wire and REST shapes (and of HTTP requests) that hold credentials: redacted
// wherever they appear in a log line's fields up to two objects deep, by the control plane
// and by every agent. Deeper ones are not covered: never log whole requests or configurations.
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

/** pino `redact` paths for every logger of the control plane and of the agents. */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
