import type { Logger } from 'pino';
import type { Db } from '../db/database';
import type { CommandSink, SessionChanged } from './session-ports';
import { stopSessionLocked } from './session-stop';

export type SystemStop = (
  sessionId: string,
  actor: string,
  reason: string,
) => Promise<'stopping' | 'stopped' | 'unchanged'>;

/**
 * Stop a session on behalf of the system (the scheduler's maximum-duration policy), with an
 * actor and reason of its own, by the same rule as a user's stop (session-stop.ts). The home
 * is kept. A failed session is left as it is: its failure is the story users need to see.
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
      if (current === undefined || current.state === 'failed') return 'unchanged' as const;
      return stopSessionLocked(trx, current, { actor, reason, deleteHome: false }, commands, log);
    });
    if (result !== 'unchanged') changed(sessionId);
    return result;
  };
}
