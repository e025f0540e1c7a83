import type { Logger } from 'pino';
import { PLATFORM_DISPLAY_NAMES } from '@streamspace/protocol';
import type {
  Clock,
  CreateSessionRequest,
  Session,
  SessionEvent,
  SessionListQuery,
  SessionPage,
  SessionState,
} from '@streamspace/protocol';
import { actorOf, isAdmin, type Principal } from '../auth/principal';
import { generatePassword } from '../auth/secrets';
import type { Db } from '../db/database';
import type { SessionRow } from '../db/schema';
import { ApiError } from '../http/api-error';
import type { AgentPicker, CapacityCheck, CommandSink, SessionChanged } from './session-ports';
import { buildSessionSpec, homeKeyFor } from './session-spec-builder';
import { stopSessionLocked } from './session-stop';
import { transitionSession } from './session-transitions';
import type { SessionViews } from './session-view';

export interface SessionServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  views: SessionViews;
  commands: CommandSink;
  pickAgent: AgentPicker;
  /** A wake takes a slot again: the session's agent must have one free. */
  checkCapacity: CapacityCheck;
  changed: SessionChanged;
}

export type SessionService = ReturnType<typeof createSessionService>;

/** Sessions as users drive them: create, stop, hibernate, wake, delete (issue 2 item 9). */
export function createSessionService({
  db,
  clock,
  logger,
  views,
  commands,
  pickAgent,
  checkCapacity,
  changed,
}: SessionServiceDeps) {
  const log = logger.child({ module: 'sessions' });

  /** A session the principal may see, or 404 (never 403: others' sessions do not exist for them). */
  async function visibleRow(principal: Principal, sessionId: string): Promise<SessionRow> {
    const row = await db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (row === undefined || (row.userId !== principal.userId && !isAdmin(principal))) {
      throw new ApiError('not_found', 'session not found');
    }
    return row;
  }

  async function view(sessionId: string): Promise<Session> {
    const session = await views.byId(sessionId, { includeDeleted: true });
    if (session === undefined) throw new ApiError('not_found', 'session not found');
    return session;
  }

  async function create(principal: Principal, request: CreateSessionRequest): Promise<Session> {
    const template = await db
      .selectFrom('templates')
      .selectAll()
      .where('id', '=', request.templateId)
      .where('enabled', '=', true)
      .executeTakeFirst();
    if (template === undefined)
      throw new ApiError('not_found', `template "${request.templateId}" not found`);
    const actor = actorOf(principal);
    const sessionId = await db.transaction().execute(async (trx) => {
      // The chosen agent stays held until this transaction ends (agent-selector.ts):
      // two launches at once cannot both take its last free slot, on any replica.
      const agent = await pickAgent(
        { platform: request.platform, ...(request.agentId ? { agentId: request.agentId } : {}) },
        trx,
      );
      const inserted = await trx
        .insertInto('sessions')
        .values({
          userId: principal.userId,
          templateId: template.id,
          platform: agent.platform,
          agentId: agent.id,
          state: 'pending',
          stateReason: `requested by ${actor}`,
          homeKey: homeKeyFor(principal.userId, template),
          // RFB VNC authentication uses at most 8 characters (RFC 6143 §7.2.2).
          vncPassword: generatePassword(8),
          details: JSON.stringify({}),
          idleTimeoutMinutes: template.idleTimeoutMinutes,
          maxDurationMinutes: template.maxDurationMinutes,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('sessionEvents')
        .values({
          sessionId: inserted.id,
          kind: 'transition',
          fromState: null,
          toState: 'pending',
          actor,
          reason: `created from template "${template.name}" on ${agent.platform}`,
        })
        .execute();
      const starting = await transitionSession(
        trx,
        inserted.id,
        {
          to: 'starting',
          actor: 'system',
          reason: `start sent to agent "${agent.name}" (${PLATFORM_DISPLAY_NAMES[agent.platform]})`,
        },
        log,
      );
      await commands.enqueue(
        {
          agentId: agent.id,
          sessionId: inserted.id,
          payload: {
            type: 'start_session',
            sessionId: inserted.id,
            spec: buildSessionSpec(starting, template),
          },
        },
        trx,
      );
      return inserted.id;
    });
    changed(sessionId);
    return view(sessionId);
  }

  /** A page of the principal's own sessions, or of everyone's (scope=all, admins only). */
  async function list(principal: Principal, query: SessionListQuery): Promise<SessionPage> {
    if (query.scope === 'all' && !isAdmin(principal))
      throw new ApiError('forbidden', 'scope=all needs the admin role');
    const scope = query.scope === 'all' ? {} : { userId: principal.userId };
    return views.page({ ...scope, ...(query.user ? { usernameContains: query.user } : {}) }, query);
  }

  async function get(principal: Principal, sessionId: string): Promise<Session> {
    await visibleRow(principal, sessionId);
    return view(sessionId);
  }

  async function events(principal: Principal, sessionId: string): Promise<SessionEvent[]> {
    await visibleRow(principal, sessionId);
    return views.events(sessionId);
  }

  /** Stop (keep the home unless asked). Stopping a stopping or stopped session is a no-op. */
  async function stop(
    principal: Principal,
    sessionId: string,
    options: { deleteHome: boolean; markDeleted: boolean },
  ): Promise<Session> {
    const row = await visibleRow(principal, sessionId);
    const actor = actorOf(principal);
    await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', sessionId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      await stopSessionLocked(
        trx,
        current,
        { actor, reason: `stop requested by ${actor}`, deleteHome: options.deleteHome },
        commands,
        log,
      );
      if (options.markDeleted) {
        await trx
          .updateTable('sessions')
          .set({ deletedAt: new Date(clock.now()) })
          .where('id', '=', sessionId)
          .execute();
      }
    });
    changed(row.id);
    return view(sessionId);
  }

  async function hibernate(
    principal: Principal,
    sessionId: string,
    reason?: string,
  ): Promise<Session> {
    await visibleRow(principal, sessionId);
    const actor = actorOf(principal);
    await moveAndSend(
      sessionId,
      'hibernating',
      actor,
      reason ?? `hibernation requested by ${actor}`,
    );
    return view(sessionId);
  }

  async function wake(principal: Principal, sessionId: string): Promise<Session> {
    await visibleRow(principal, sessionId);
    const actor = actorOf(principal);
    await moveAndSend(sessionId, 'waking', actor, `wake requested by ${actor}`);
    return view(sessionId);
  }

  /**
   * Move to hibernating or waking and queue the matching command in one transaction. Also
   * used by the scheduler (actor `scheduler`) for idle hibernation.
   */
  async function moveAndSend(
    sessionId: string,
    to: Extract<SessionState, 'hibernating' | 'waking'>,
    actor: string,
    reason: string,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const moved = await transitionSession(trx, sessionId, { to, actor, reason }, log);
      if (moved.agentId === null) throw new ApiError('agent_offline', 'the session has no agent');
      if (to === 'hibernating') {
        await commands.enqueue(
          { agentId: moved.agentId, sessionId, payload: { type: 'hibernate_session', sessionId } },
          trx,
        );
      } else {
        // Its home is on that agent, so it wakes there or not at all (the session stays
        // hibernated and the user is told why).
        await checkCapacity(moved.agentId, trx);
        const template = await trx
          .selectFrom('templates')
          .selectAll()
          .where('id', '=', moved.templateId)
          .executeTakeFirstOrThrow();
        await commands.enqueue(
          {
            agentId: moved.agentId,
            sessionId,
            payload: { type: 'wake_session', sessionId, spec: buildSessionSpec(moved, template) },
          },
          trx,
        );
      }
    });
    changed(sessionId);
  }

  /** Activity from a viewer's input or the keepalive endpoint resets the idle countdown. */
  async function touch(sessionId: string): Promise<void> {
    await db
      .updateTable('sessions')
      .set({ lastActivityAt: new Date(clock.now()) })
      .where('id', '=', sessionId)
      .execute();
    changed(sessionId);
  }

  async function keepalive(principal: Principal, sessionId: string): Promise<Session> {
    await visibleRow(principal, sessionId);
    await touch(sessionId);
    return view(sessionId);
  }

  return { create, list, get, events, stop, hibernate, wake, keepalive, touch, moveAndSend, view };
}
