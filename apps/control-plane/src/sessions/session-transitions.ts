import { canTransition, type SessionEvent, type SessionState } from '@streamspace/protocol';
import type { Logger } from 'pino';
import type { Kysely, Transaction } from 'kysely';
import type { Database, SessionRow, SessionUpdate } from '../db/schema';
import { ApiError } from '../http/api-error';

export interface TransitionRequest {
  to: SessionState;
  /** Who or what: `user:alice`, `admin:root`, `scheduler`, `agent:<name>`, `system`. */
  actor: string;
  /** Why, in words a user understands; stored as the session's state reason and as an event. */
  reason: string;
  /** Further columns to set in the same update (agent, details). */
  also?: SessionUpdate;
}

const VERB: Partial<Record<SessionState, string>> = {
  starting: 'start',
  hibernating: 'hibernate',
  waking: 'wake',
  stopping: 'stop',
};

/**
 * Move a session along the state machine (packages/protocol session-state.ts) inside `trx`:
 * lock the row, refuse an illegal move with 409 illegal_transition, update the state and
 * its reason, and record the move as a session event. Every state change goes through here.
 */
export async function transitionSession(
  trx: Transaction<Database>,
  sessionId: string,
  request: TransitionRequest,
  logger: Logger,
): Promise<SessionRow> {
  const current = await trx
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', sessionId)
    .forUpdate()
    .executeTakeFirst();
  if (current === undefined) throw new ApiError('not_found', 'session not found');
  if (!canTransition(current.state, request.to)) {
    logger.warn(
      { sessionId, from: current.state, to: request.to, actor: request.actor },
      'illegal session transition refused',
    );
    const verb = VERB[request.to] ?? `move to ${request.to}`;
    throw new ApiError('illegal_transition', `cannot ${verb} a session that is ${current.state}`, {
      from: current.state,
      to: request.to,
    });
  }
  const updated = await trx
    .updateTable('sessions')
    .set({ ...request.also, state: request.to, stateReason: request.reason, updatedAt: new Date() })
    .where('id', '=', sessionId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordSessionEvent(trx, {
    sessionId,
    kind: 'transition',
    fromState: current.state,
    toState: request.to,
    actor: request.actor,
    reason: request.reason,
  });
  logger.info(
    { sessionId, from: current.state, to: request.to, actor: request.actor },
    'session transition',
  );
  return updated;
}

export interface NewSessionEvent {
  sessionId: string;
  kind: SessionEvent['kind'];
  fromState?: SessionState | null;
  toState?: SessionState | null;
  actor: string;
  reason: string;
}

export async function recordSessionEvent(
  db: Kysely<Database> | Transaction<Database>,
  event: NewSessionEvent,
): Promise<void> {
  await db
    .insertInto('sessionEvents')
    .values({
      sessionId: event.sessionId,
      kind: event.kind,
      fromState: event.fromState ?? null,
      toState: event.toState ?? null,
      actor: event.actor,
      reason: event.reason,
    })
    .execute();
}
