import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type {
  AgentStatus,
  Capacity,
  CommandPayload,
  CommandState,
  CommandType,
  CommandOutcome,
  Labels,
  Platform,
  Resources,
  Role,
  SessionEvent,
  SessionState,
  WindowManager,
} from '@streamspace/protocol';

/**
 * The database as Kysely sees it. Column names are snake_case in SQL and camelCase here
 * (CamelCasePlugin). Migrations in ./migrations are the source of truth for the SQL.
 */
export interface Database {
  users: UsersTable;
  apiTokens: ApiTokensTable;
  templates: TemplatesTable;
  agents: AgentsTable;
  enrollmentTokens: EnrollmentTokensTable;
  sessions: SessionsTable;
  sessionEvents: SessionEventsTable;
  agentCommands: AgentCommandsTable;
  vncTickets: VncTicketsTable;
  leases: LeasesTable;
  replicas: ReplicasTable;
  replicaViewers: ReplicaViewersTable;
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface UsersTable {
  id: Generated<string>;
  username: string;
  passwordHash: string;
  role: Role;
  disabled: Generated<boolean>;
  idleTimeoutMinutes: number | null;
  maxDurationMinutes: number | null;
  createdAt: DefaultedTimestamp;
  updatedAt: DefaultedTimestamp;
}

/** Login sessions (kind `login`) and personal API tokens (kind `personal`); only hashes. */
export interface ApiTokensTable {
  id: Generated<string>;
  userId: string;
  kind: 'login' | 'personal';
  name: string;
  tokenHash: string;
  createdAt: DefaultedTimestamp;
  lastUsedAt: Timestamp | null;
  expiresAt: Timestamp | null;
  revokedAt: Timestamp | null;
}

export interface TemplatesTable {
  id: string;
  name: string;
  description: string;
  icon: string;
  image: string;
  app: Json<string[]>;
  windowManager: WindowManager;
  resources: Json<Resources>;
  idleTimeoutMinutes: number | null;
  maxDurationMinutes: number | null;
  homeIsolation: 'user' | 'template';
  enabled: boolean;
  createdAt: DefaultedTimestamp;
  updatedAt: DefaultedTimestamp;
}

export interface AgentsTable {
  id: string;
  name: string;
  platform: Platform;
  region: string;
  labels: Json<Labels>;
  capacity: Json<Capacity>;
  clusterInfo: Json<Record<string, string>>;
  /** online/offline as the hub last saw it; `draining` is the admin flag below. */
  status: Exclude<AgentStatus, 'draining'>;
  draining: Generated<boolean>;
  /** Set by an admin's PUT capacity: the agent's hello no longer overwrites it. */
  capacityFromAdmin: Generated<boolean>;
  secretHash: string;
  agentVersion: string | null;
  lastHeartbeatAt: Timestamp | null;
  /** Which control-plane process holds the agent's WebSocket (BRIEF.md, replicas). */
  connectedReplica: string | null;
  createdAt: DefaultedTimestamp;
  updatedAt: DefaultedTimestamp;
}

export interface EnrollmentTokensTable {
  id: Generated<string>;
  tokenHash: string;
  createdBy: string | null;
  expiresAt: Timestamp;
  maxUses: number;
  uses: Generated<number>;
  createdAt: DefaultedTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  userId: string;
  templateId: string;
  platform: Platform;
  agentId: string | null;
  state: SessionState;
  stateReason: string;
  homeKey: string;
  /** Returned to the owner by the connect endpoint; never logged. */
  vncPassword: string;
  details: Json<Record<string, string>>;
  idleTimeoutMinutes: number | null;
  maxDurationMinutes: number | null;
  lastActivityAt: DefaultedTimestamp;
  createdAt: DefaultedTimestamp;
  updatedAt: DefaultedTimestamp;
  /** Set by DELETE: hidden from lists, kept for the timeline. */
  deletedAt: Timestamp | null;
}

export interface SessionEventsTable {
  id: Generated<string>;
  sessionId: string;
  at: DefaultedTimestamp;
  kind: SessionEvent['kind'];
  fromState: SessionState | null;
  toState: SessionState | null;
  actor: string;
  reason: string;
}

export interface AgentCommandsTable {
  id: Generated<string>;
  agentId: string | null;
  sessionId: string;
  type: CommandType;
  payload: Json<CommandPayload>;
  state: CommandState;
  attempts: Generated<number>;
  /** Earliest time the dispatcher may (re)send; backs off after each attempt. */
  nextAttemptAt: DefaultedTimestamp;
  deadline: Timestamp;
  sentAt: Timestamp | null;
  ackedAt: Timestamp | null;
  finishedAt: Timestamp | null;
  outcome: Json<CommandOutcome> | null;
  error: string | null;
  createdAt: DefaultedTimestamp;
  updatedAt: DefaultedTimestamp;
}

export interface VncTicketsTable {
  id: Generated<string>;
  ticketHash: string;
  sessionId: string;
  userId: string;
  expiresAt: Timestamp;
  usedAt: Timestamp | null;
  createdAt: DefaultedTimestamp;
}

/** A named lease so that one control-plane process runs a periodic job at a time. */
export interface LeasesTable {
  name: string;
  holder: string;
  expiresAt: Timestamp;
}

export type UserRow = Selectable<UsersTable>;
export type TemplateRow = Selectable<TemplatesTable>;
export type AgentRow = Selectable<AgentsTable>;
export type SessionRow = Selectable<SessionsTable>;
export type SessionEventRow = Selectable<SessionEventsTable>;
export type AgentCommandRow = Selectable<AgentCommandsTable>;
export type NewAgentCommand = Insertable<AgentCommandsTable>;
export type SessionUpdate = Updateable<SessionsTable>;

/** Running control-plane processes and their internal URLs (migration 0006). */
export interface ReplicasTable {
  id: string;
  /** Where other replicas open routed streams (STREAMSPACE_REPLICA_URL). */
  url: string;
  startedAt: Timestamp;
  heartbeatAt: Timestamp;
  /** Past this, the replica and the agent links it claims are not trusted. */
  expiresAt: Timestamp;
}

/** How many viewers each replica has of a session (migration 0007); rows only for > 0. */
export interface ReplicaViewersTable {
  replicaId: string;
  sessionId: string;
  viewers: number;
}
