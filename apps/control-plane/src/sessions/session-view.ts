import type { Session, SessionEvent } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { SessionEventRow } from '../db/schema';

export interface SessionViewDeps {
  db: Db;
  /** Viewers connected right now (the VNC proxy knows); 0 when unknown. */
  viewerCount: (sessionId: string) => number;
  /** Viewers on other control-plane replicas, when there are several (replicas/). */
  remoteViewerCounts?: (sessionIds: string[]) => Promise<Map<string, number>>;
  defaultIdleMinutes: number;
  defaultMaxDurationMinutes: number;
}

export interface SessionFilter {
  sessionId?: string;
  userId?: string;
  agentId?: string;
  includeDeleted?: boolean;
}

export type SessionViews = ReturnType<typeof createSessionViews>;

/** Reads sessions as the API shows them: joined with user, template and agent names. */
export function createSessionViews({
  db,
  viewerCount,
  remoteViewerCounts,
  defaultIdleMinutes,
  defaultMaxDurationMinutes,
}: SessionViewDeps) {
  async function find(filter: SessionFilter): Promise<Session[]> {
    let query = db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.userId')
      .innerJoin('templates', 'templates.id', 'sessions.templateId')
      .leftJoin('agents', 'agents.id', 'sessions.agentId')
      .selectAll('sessions')
      .select([
        'users.username',
        'users.idleTimeoutMinutes as userIdleMinutes',
        'users.maxDurationMinutes as userMaxMinutes',
        'templates.name as templateName',
        'agents.name as agentName',
      ])
      .orderBy('sessions.createdAt', 'desc')
      .limit(1000);
    if (filter.sessionId !== undefined) query = query.where('sessions.id', '=', filter.sessionId);
    if (filter.userId !== undefined) query = query.where('sessions.userId', '=', filter.userId);
    if (filter.agentId !== undefined) query = query.where('sessions.agentId', '=', filter.agentId);
    if (filter.includeDeleted !== true) query = query.where('sessions.deletedAt', 'is', null);
    const rows = await query.execute();
    const remote = (await remoteViewerCounts?.(rows.map((row) => row.id))) ?? new Map();
    return rows.map((row) => {
      const idleMinutes = row.idleTimeoutMinutes ?? row.userIdleMinutes ?? defaultIdleMinutes;
      const maxMinutes = row.maxDurationMinutes ?? row.userMaxMinutes ?? defaultMaxDurationMinutes;
      const live = row.state === 'running';
      return {
        id: row.id,
        userId: row.userId,
        username: row.username,
        templateId: row.templateId,
        templateName: row.templateName,
        platform: row.platform,
        agentId: row.agentId,
        agentName: row.agentName,
        state: row.state,
        stateReason: row.stateReason,
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
        lastActivityAt: row.lastActivityAt.toISOString(),
        viewerCount: viewerCount(row.id) + (remote.get(row.id) ?? 0),
        idleTimeoutMinutes: idleMinutes,
        hibernateAt: live
          ? new Date(row.lastActivityAt.getTime() + idleMinutes * 60_000).toISOString()
          : null,
        stopAt:
          row.state === 'stopped' || row.state === 'failed'
            ? null
            : new Date(row.createdAt.getTime() + maxMinutes * 60_000).toISOString(),
        details: row.details,
      } satisfies Session;
    });
  }

  async function events(sessionId: string): Promise<SessionEvent[]> {
    const rows = await db
      .selectFrom('sessionEvents')
      .selectAll()
      .where('sessionId', '=', sessionId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toSessionEvent);
  }

  return { find, events };
}

function toSessionEvent(row: SessionEventRow): SessionEvent {
  return {
    id: row.id,
    sessionId: row.sessionId,
    at: row.at.toISOString(),
    kind: row.kind,
    fromState: row.fromState,
    toState: row.toState,
    actor: row.actor,
    reason: row.reason,
  };
}
