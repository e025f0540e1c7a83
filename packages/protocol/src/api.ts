import { z } from 'zod';
import {
  AgentStatus,
  Capacity,
  CommandState,
  CommandType,
  Labels,
  Platform,
  PlatformChoice,
  Role,
  Uuid,
} from './domain';
import { Resources, WindowManager } from './session-spec';
import { SessionState } from './session-state';

/**
 * REST request and response bodies under /api/v1. The control plane validates requests
 * with these schemas and the web UI's client is typed from them: one definition each.
 */

const Timestamp = z.iso.datetime({ offset: true });
const Username = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{1,31}$/, 'lowercase letters, digits, . _ -; 2–32 characters');
const Password = z.string().min(8).max(256);

// ---- pages ----------------------------------------------------------------------------

/** Items per page of a paginated list when the request does not say (`limit`). */
export const PAGE_LIMIT_DEFAULT = 100;
/** The most items one page may hold; a larger `limit` is refused with 400. */
export const PAGE_LIMIT_MAX = 500;

/** `limit` as a query string: a whole number from 1 to PAGE_LIMIT_MAX. */
const PageLimit = z
  .string()
  .regex(/^[0-9]{1,6}$/, 'a whole number')
  .transform(Number)
  .pipe(z.int().min(1).max(PAGE_LIMIT_MAX))
  .default(PAGE_LIMIT_DEFAULT);

/**
 * `cursor`: the `nextCursor` of the previous page, passed back unchanged. It is opaque: the
 * server decodes it and answers 400 `invalid_cursor` to one it did not make.
 */
const PageCursor = z.string().min(1).max(1024).optional();

/** A query parameter listing values: `a,b`, or repeated as `x=a&x=b`. */
function listParam<T extends z.ZodEnum>(values: T) {
  return z
    .preprocess(
      (input) =>
        typeof input === 'string' || Array.isArray(input)
          ? [input].flat().flatMap((value) => String(value).split(','))
          : input,
      z.array(values).min(1).max(values.options.length),
    )
    .optional();
}

// ---- auth & users ---------------------------------------------------------------------

export const LoginRequest = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const User = z.object({
  id: Uuid,
  username: Username,
  role: Role,
  disabled: z.boolean(),
  idleTimeoutMinutes: z.int().nullable(),
  maxDurationMinutes: z.int().nullable(),
  createdAt: Timestamp,
});
export type User = z.infer<typeof User>;

export const LoginResponse = z.object({ token: z.string(), user: User });
export type LoginResponse = z.infer<typeof LoginResponse>;

export const CreateUserRequest = z.object({
  username: Username,
  password: Password,
  role: Role.default('user'),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequest>;

export const UpdateUserRequest = z
  .object({
    role: Role,
    disabled: z.boolean(),
    password: Password,
    idleTimeoutMinutes: z.int().min(1).max(10_080).nullable(),
    maxDurationMinutes: z.int().min(1).max(525_600).nullable(),
  })
  .partial();
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;

export const ApiToken = z.object({
  id: Uuid,
  name: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;

export const CreateApiTokenRequest = z.object({
  name: z.string().min(1).max(64),
  expiresInDays: z.int().min(1).max(3650).optional(),
});
export type CreateApiTokenRequest = z.infer<typeof CreateApiTokenRequest>;

/** The token text is shown once, here, and stored only as a hash. */
export const CreateApiTokenResponse = z.object({ token: z.string(), apiToken: ApiToken });
export type CreateApiTokenResponse = z.infer<typeof CreateApiTokenResponse>;

// ---- templates ------------------------------------------------------------------------

const TemplateId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/);

export const Template = z.object({
  id: TemplateId,
  name: z.string().min(1).max(80),
  description: z.string().max(1000),
  /** An emoji or a short icon name the UI knows. */
  icon: z.string().max(64),
  image: z.string().min(1).max(255),
  app: z.array(z.string().max(1024)).max(64),
  windowManager: WindowManager,
  resources: Resources,
  /** Minutes without input before auto-hibernation; null means the admin default. */
  idleTimeoutMinutes: z.int().min(1).max(10_080).nullable(),
  /** Hard limit on a session's lifetime in minutes; null means the admin default. */
  maxDurationMinutes: z.int().min(1).max(525_600).nullable(),
  /** `template` gives each user a separate home for this template. */
  homeIsolation: z.enum(['user', 'template']),
  enabled: z.boolean(),
});
export type Template = z.infer<typeof Template>;

export const CreateTemplateRequest = Template.extend({
  description: z.string().max(1000).default(''),
  icon: z.string().max(64).default('🖥️'),
  app: z.array(z.string().max(1024)).max(64).default([]),
  windowManager: WindowManager.default('twm'),
  resources: Resources.default({ cpuMillis: 1000, memoryMb: 1024 }),
  idleTimeoutMinutes: z.int().min(1).max(10_080).nullable().default(null),
  maxDurationMinutes: z.int().min(1).max(525_600).nullable().default(null),
  homeIsolation: z.enum(['user', 'template']).default('user'),
  enabled: z.boolean().default(true),
});
export type CreateTemplateRequest = z.infer<typeof CreateTemplateRequest>;

export const UpdateTemplateRequest = Template.omit({ id: true }).partial();
export type UpdateTemplateRequest = z.infer<typeof UpdateTemplateRequest>;

// ---- agents ---------------------------------------------------------------------------

export const Agent = z.object({
  id: Uuid,
  name: z.string(),
  platform: Platform,
  region: z.string(),
  labels: Labels,
  capacity: Capacity,
  clusterInfo: z.record(z.string(), z.string()),
  status: AgentStatus,
  /** True while this control plane holds the agent's WebSocket. */
  connected: z.boolean(),
  lastHeartbeatAt: Timestamp.nullable(),
  agentVersion: z.string().nullable(),
  sessionCount: z.int(),
  createdAt: Timestamp,
});
export type Agent = z.infer<typeof Agent>;

/** `GET /agents`: agents by name, a page at a time, optionally of some statuses or platforms. */
export const AgentListQuery = z.object({
  limit: PageLimit,
  cursor: PageCursor,
  status: listParam(AgentStatus),
  platform: listParam(Platform),
  /** Only agents whose name contains this text, ignoring case: `name=gpu`. */
  name: z.string().trim().min(1).max(64).optional(),
});
export type AgentListQuery = z.infer<typeof AgentListQuery>;

export const RegisterAgentRequest = z.object({
  /** Optional id the agent asks for; refused if another agent already has it. */
  agentId: Uuid.optional(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
  platform: Platform,
  region: z.string().max(64).default(''),
  labels: Labels.default({}),
  capacity: Capacity.default({ maxSessions: 10 }),
  clusterInfo: z.record(z.string(), z.string().max(1024)).default({}),
  agentVersion: z.string().min(1).max(64).default('unknown'),
});
export type RegisterAgentRequest = z.infer<typeof RegisterAgentRequest>;

/** The agent secret is returned once and stored only as a hash. */
export const RegisterAgentResponse = z.object({ agent: Agent, agentSecret: z.string() });
export type RegisterAgentResponse = z.infer<typeof RegisterAgentResponse>;

export const UpdateAgentRequest = z
  .object({ labels: Labels, region: z.string().max(64), capacity: Capacity, draining: z.boolean() })
  .partial();
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;

export const CreateEnrollmentTokenRequest = z.object({
  expiresInMinutes: z.int().min(1).max(43_200).default(60),
  maxUses: z.int().min(1).max(1000).default(1),
});
export type CreateEnrollmentTokenRequest = z.infer<typeof CreateEnrollmentTokenRequest>;

export const EnrollmentToken = z.object({
  id: Uuid,
  expiresAt: Timestamp,
  maxUses: z.int(),
  uses: z.int(),
  createdAt: Timestamp,
});
export type EnrollmentToken = z.infer<typeof EnrollmentToken>;

export const CreateEnrollmentTokenResponse = z.object({
  token: z.string(),
  enrollmentToken: EnrollmentToken,
});
export type CreateEnrollmentTokenResponse = z.infer<typeof CreateEnrollmentTokenResponse>;

export const AgentCommand = z.object({
  id: Uuid,
  agentId: Uuid.nullable(),
  sessionId: Uuid,
  type: CommandType,
  state: CommandState,
  attempts: z.int(),
  deadline: Timestamp,
  error: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AgentCommand = z.infer<typeof AgentCommand>;

// ---- sessions -------------------------------------------------------------------------

export const Session = z.object({
  id: Uuid,
  userId: Uuid,
  username: z.string(),
  templateId: z.string(),
  templateName: z.string(),
  platform: Platform,
  agentId: Uuid.nullable(),
  agentName: z.string().nullable(),
  state: SessionState,
  /** Why the session is in its state, in words a user understands. */
  stateReason: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastActivityAt: Timestamp,
  viewerCount: z.int(),
  idleTimeoutMinutes: z.int().nullable(),
  /** When idle hibernation will happen if nothing changes; null when none applies. */
  hibernateAt: Timestamp.nullable(),
  /** When the maximum duration ends the session; null when none applies. */
  stopAt: Timestamp.nullable(),
  /** Platform metadata from the agent (container id, pod name, display, …). */
  details: z.record(z.string(), z.string()),
});
export type Session = z.infer<typeof Session>;

export const CreateSessionRequest = z.object({
  templateId: TemplateId,
  platform: PlatformChoice.default('auto'),
  agentId: Uuid.optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

/** `GET /sessions?scope=`: own sessions, or every user's for admins. */
export const SessionListScope = z.enum(['own', 'all']);
export type SessionListScope = z.infer<typeof SessionListScope>;
export const SessionListQuery = z.object({
  scope: SessionListScope.default('own'),
  limit: PageLimit,
  cursor: PageCursor,
  /** Only sessions in these states: `state=running,hibernated` or `state=a&state=b`. */
  state: listParam(SessionState),
  /**
   * Only sessions whose owner's username contains this text, ignoring case: `user=ali`
   * (narrows `scope=all`; never widens `own`).
   */
  user: z.string().trim().min(1).max(32).optional(),
});
export type SessionListQuery = z.infer<typeof SessionListQuery>;

/** `GET /agents/:id/sessions`: the same pages as `GET /sessions`, without a scope. */
export const AgentSessionListQuery = SessionListQuery.omit({ scope: true, user: true });
export type AgentSessionListQuery = z.infer<typeof AgentSessionListQuery>;

export const DeleteSessionQuery = z.object({
  deleteHome: z.enum(['true', 'false']).default('false'),
});

export const SessionEvent = z.object({
  id: z.string(),
  sessionId: Uuid,
  at: Timestamp,
  kind: z.enum(['transition', 'viewer_connected', 'viewer_disconnected', 'warning', 'info']),
  fromState: SessionState.nullable(),
  toState: SessionState.nullable(),
  /** Who or what: `user:alice`, `admin:root`, `scheduler`, `agent:docker-1`, `system`. */
  actor: z.string(),
  reason: z.string(),
});
export type SessionEvent = z.infer<typeof SessionEvent>;

export const ConnectResponse = z.object({
  ticket: z.string(),
  /** Path and query of the WebSocket to open, relative to the control plane's origin. */
  url: z.string(),
  vncPassword: z.string().nullable(),
  expiresAt: Timestamp,
});
export type ConnectResponse = z.infer<typeof ConnectResponse>;

export const PlatformAvailability = z.object({
  platform: Platform,
  onlineAgents: z.int(),
  freeSlots: z.int(),
});
export const PlatformsResponse = z.object({ platforms: z.array(PlatformAvailability) });
export type PlatformsResponse = z.infer<typeof PlatformsResponse>;

export const HealthResponse = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.string()),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item) });
}

/**
 * One page of a keyset-paginated list: `nextCursor` fetches the page after it and is null on
 * the last page (GET /sessions, /agents, /agents/:id/sessions; docs/api.md "Pagination").
 */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** The shape `pageOf` validates, for code generic over the item type. */
export type Page<T> = z.infer<ReturnType<typeof pageOf<z.ZodType<T>>>>;

export const SessionPage = pageOf(Session);
export type SessionPage = z.infer<typeof SessionPage>;
export const AgentPage = pageOf(Agent);
export type AgentPage = z.infer<typeof AgentPage>;
