import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Control-plane configuration from the environment, validated at start. Every variable is
 * listed in the README's configuration reference.
 */
const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  STREAMSPACE_DATA_DIR: z.string().default('./data'),
  STREAMSPACE_EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(54_320),
  STREAMSPACE_ADMIN_PASSWORD: z.string().min(8).optional(),
  /** Origins allowed to open /vnc WebSockets, comma separated; the request's own host is always allowed. */
  STREAMSPACE_ALLOWED_ORIGINS: z.string().default(''),
  STREAMSPACE_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  /** Built-in agent started with the control plane: local, docker, or none. */
  STREAMSPACE_EMBEDDED_AGENT: z.enum(['local', 'docker', 'none', 'auto']).default('auto'),
  STREAMSPACE_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  STREAMSPACE_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(300).default(30_000),
  STREAMSPACE_COMMAND_DEADLINE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000),
  STREAMSPACE_DEFAULT_IDLE_MINUTES: z.coerce.number().int().min(1).default(30),
  STREAMSPACE_DEFAULT_MAX_DURATION_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(12 * 60),
  STREAMSPACE_SECURE_COOKIES: z.enum(['true', 'false', 'auto']).default('auto'),
  // Lifecycle scheduler (docs/lifecycle.md).
  STREAMSPACE_SCHEDULER_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  STREAMSPACE_IDLE_WARNING_MINUTES: z.coerce.number().int().min(0).default(5),
  STREAMSPACE_STUCK_TRANSITION_MINUTES: z.coerce.number().min(0.1).default(5),
  STREAMSPACE_ORPHAN_POLICY: z.enum(['remove', 'leave', 'adopt']).default('remove'),
  STREAMSPACE_ORPHAN_GRACE_MINUTES: z.coerce.number().min(0).default(5),
  /**
   * Owner label of the built-in Docker agent's containers and volumes: installations (or test
   * systems) sharing one Docker engine must differ, or each sees the other's sessions as orphans.
   */
  STREAMSPACE_DOCKER_SCOPE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .default('default'),
  STREAMSPACE_WEB_DIST: z.string().optional(),
  /** Bearer token that may read /metrics (besides admins); unset: admins only. */
  STREAMSPACE_METRICS_TOKEN: z.string().min(16).optional(),
  /** Fastify trustProxy: 'false', 'true', or comma-separated proxy addresses/CIDRs. */
  STREAMSPACE_TRUST_PROXY: z.string().default('false'),
  /**
   * Shared by every control-plane replica: authenticates replica-to-replica stream routing.
   * Unset: viewers are only served by the replica holding the agent's link (one replica).
   */
  STREAMSPACE_REPLICA_SECRET: z.string().min(32).optional(),
  /** The URL other replicas reach this one on (its pod IP, not the public address). */
  STREAMSPACE_REPLICA_URL: z.string().url().optional(),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  adminPassword: string | undefined;
  allowedOrigins: string[];
  logLevel: z.infer<typeof Env>['STREAMSPACE_LOG_LEVEL'];
  embeddedAgent: 'local' | 'docker' | 'none' | 'auto';
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  commandDeadlineMs: number;
  defaultIdleMinutes: number;
  defaultMaxDurationMinutes: number;
  secureCookies: 'true' | 'false' | 'auto';
  /** How often the lifecycle scheduler runs its pass, in ms. */
  schedulerIntervalMs: number;
  /** Warning before idle hibernation or the maximum-duration stop, in minutes. */
  idleWarningMinutes: number;
  /** An acknowledged command silent this long (ms) counts as a stuck transition. */
  stuckTransitionMs: number;
  orphanPolicy: 'remove' | 'leave' | 'adopt';
  /** How long an orphan is only reported before the policy applies, in ms. */
  orphanGraceMs: number;
  /** io.streamspace.scope of the built-in Docker agent's containers and volumes. */
  dockerScope: string;
  webDist: string | undefined;
  metricsToken: string | undefined;
  /** Whose X-Forwarded-* headers to believe: nobody (false), everybody (true), or these proxies. */
  trustProxy: boolean | string[];
  /** Identifies this process among control-plane replicas. */
  replicaId: string;
  /** Shared secret of replica-to-replica routing; undefined disables routing. Never logged. */
  replicaSecret: string | undefined;
  /** Internal URL other replicas open routed streams on; default: the listening address. */
  replicaUrl: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.STREAMSPACE_DATA_DIR),
    embeddedPostgresPort: e.STREAMSPACE_EMBEDDED_PG_PORT,
    adminPassword: e.STREAMSPACE_ADMIN_PASSWORD,
    allowedOrigins: e.STREAMSPACE_ALLOWED_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    logLevel: e.STREAMSPACE_LOG_LEVEL,
    embeddedAgent: e.STREAMSPACE_EMBEDDED_AGENT,
    heartbeatIntervalMs: e.STREAMSPACE_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: e.STREAMSPACE_HEARTBEAT_TIMEOUT_MS,
    commandDeadlineMs: e.STREAMSPACE_COMMAND_DEADLINE_MS,
    defaultIdleMinutes: e.STREAMSPACE_DEFAULT_IDLE_MINUTES,
    defaultMaxDurationMinutes: e.STREAMSPACE_DEFAULT_MAX_DURATION_MINUTES,
    secureCookies: e.STREAMSPACE_SECURE_COOKIES,
    schedulerIntervalMs: Math.round(e.STREAMSPACE_SCHEDULER_INTERVAL_SECONDS * 1000),
    idleWarningMinutes: e.STREAMSPACE_IDLE_WARNING_MINUTES,
    stuckTransitionMs: Math.round(e.STREAMSPACE_STUCK_TRANSITION_MINUTES * 60_000),
    orphanPolicy: e.STREAMSPACE_ORPHAN_POLICY,
    orphanGraceMs: Math.round(e.STREAMSPACE_ORPHAN_GRACE_MINUTES * 60_000),
    dockerScope: e.STREAMSPACE_DOCKER_SCOPE,
    webDist: e.STREAMSPACE_WEB_DIST,
    metricsToken: e.STREAMSPACE_METRICS_TOKEN,
    trustProxy: parseTrustProxy(e.STREAMSPACE_TRUST_PROXY),
    replicaId: `${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    replicaSecret: e.STREAMSPACE_REPLICA_SECRET,
    replicaUrl: e.STREAMSPACE_REPLICA_URL?.replace(/\/+$/, ''),
  };
}

function parseTrustProxy(value: string): boolean | string[] {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === 'false') return false;
  if (trimmed === 'true') return true;
  return trimmed
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
}
