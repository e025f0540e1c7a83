import type { Logger } from 'pino';
import type { Db } from '../db/database';
import type { CommandSink, SessionChanged } from './session-ports';
import { transitionSession } from './session-transitions';

export type SystemStop = (
  sessionId: string,
  actor: string,
  reason: string,
) => Promise<'stopping' | 'stopped' | 'unchanged'>;

/**
 * Stop a session on behalf of the system (the scheduler's maximum-duration policy), with an
 * actor and reason of its own. Same rules as a user's stop in session-service.ts: a session
 * holding compute moves to stopping and the agent gets stop_session; a hibernated or pending
 * one is stopped at once and the agent still gets a stop so it forgets it. The home is kept.
 * A session already stopping, stopped or failed is left as it is.
 */
export function createSystemStop({
  db,
  logger,
  commands,
  changed,
}: {
  db: Db;
  logger: Logger;
  commands: CommandSink;
  changed: SessionChanged;
}): SystemStop {
  const log = logger.child({ module: 'session-lifecycle' });
  return async (sessionId, actor, reason) => {
    const result = await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', sessionId)
        .forUpdate()
        .executeTakeFirst();
      if (current === undefined) return 'unchanged' as const;
      if (['stopping', 'stopped', 'failed'].includes(current.state)) return 'unchanged' as const;
      const to =
        current.state === 'hibernated' || current.state === 'pending' ? 'stopped' : 'stopping';
      await transitionSession(trx, sessionId, { to, actor, reason }, log);
      if (current.agentId !== null) {
        await commands.enqueue(
          {
            agentId: current.agentId,
            sessionId,
            payload: {
              type: 'stop_session',
              sessionId,
              deleteHome: false,
              homeKey: current.homeKey,
            },
          },
          trx,
        );
      }
      return to;
    });
    if (result !== 'unchanged') changed(sessionId);
    return result;
  };
}
