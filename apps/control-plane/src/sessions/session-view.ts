import { sql } from 'kysely';
import { z } from 'zod';
import { Uuid } from '@streamspace/protocol';
import type {
  AgentSessionListQuery,
  Session,
  SessionEvent,
  SessionPage,
} from '@streamspace/protocol';
import { containsPattern } from '../db/contains-pattern';
import type { Db } from '../db/database';
import type { SessionEventRow, SessionRow } from '../db/schema';
import { createPageCursor } from '../http/page-cursor';

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
  /** Text the owner's username contains, ignoring case (the admin list's user filter). */
  usernameContains?: string;
  agentId?: string;
  includeDeleted?: boolean;
}

/** What a list request asks for, validated at the edge: the page and state of SessionListQuery. */
export type SessionPageRequest = Pick<AgentSessionListQuery, 'limit' | 'cursor' | 'state'>;

interface SessionViewRow extends SessionRow {
  username: string;
  userIdleMinutes: number | null;
  userMaxMinutes: number | null;
  templateName: string;
  agentName: string | null;
}

/** (created_at to the microsecond, as PostgreSQL keeps it; id) of the last row of a page. */
const sessionCursor = createPageCursor(
  'sessions',
  z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), Uuid]),
);

export type SessionViews = ReturnType<typeof createSessionViews>;

/** Reads sessions as the API shows them: joined with user, template and agent names. */
export function createSessionViews({
  db,
  viewerCount,
  remoteViewerCounts,
  defaultIdleMinutes,
  defaultMaxDurationMinutes,
}: SessionViewDeps) {
  function select(filter: SessionFilter) {
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
      ]);
    if (filter.sessionId !== undefined) query = query.where('sessions.id', '=', filter.sessionId);
    if (filter.userId !== undefined) query = query.where('sessions.userId', '=', filter.userId);
    if (filter.usernameContains !== undefined)
      query = query.where('users.username', 'ilike', containsPattern(filter.usernameContains));
    if (filter.agentId !== undefined) query = query.where('sessions.agentId', '=', filter.agentId);
    if (filter.includeDeleted !== true) query = query.where('sessions.deletedAt', 'is', null);
    return query;
  }

  /** The session with this id, or undefined (also when deleted, unless includeDeleted). */
  async function byId(
    sessionId: string,
    { includeDeleted }: { includeDeleted: boolean },
  ): Promise<Session | undefined> {
    const rows = await select({ sessionId, includeDeleted }).execute();
    return (await toSessions(rows))[0];
  }

  /**
   * One page of the sessions that match, newest first (keyset on created_at desc, id desc:
   * indexes sessions_page, sessions_user_page, sessions_agent_page of migration 0009).
   * Rows created after the first page sort before the cursor, so a walk through the pages
   * returns every older row exactly once.
   */
  async function page(filter: SessionFilter, request: SessionPageRequest): Promise<SessionPage> {
    const after = request.cursor === undefined ? undefined : sessionCursor.decode(request.cursor);
    let query = select({ ...filter, includeDeleted: false })
      .select(
        sql<string>`to_char(sessions.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
          'cursorAt',
        ),
      )
      .orderBy('sessions.createdAt', 'desc')
      .orderBy('sessions.id', 'desc')
      // One more than asked: whether it exists says whether there is a next page.
      .limit(request.limit + 1);
    if (request.state !== undefined) query = query.where('sessions.state', 'in', request.state);
    if (after !== undefined) {
      const [createdAt, id] = after;
      query = query.where(
        sql<boolean>`(sessions.created_at, sessions.id) < (${createdAt}::timestamptz, ${id}::uuid)`,
      );
    }
    const { rows, nextCursor } = sessionCursor.page(await query.execute(), request.limit, (row) => [
      row.cursorAt,
      row.id,
    ]);
    return { items: await toSessions(rows), nextCursor };
  }

  async function toSessions(rows: SessionViewRow[]): Promise<Session[]> {
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

  return { byId, page, events };
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
