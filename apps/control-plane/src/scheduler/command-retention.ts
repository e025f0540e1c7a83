import type { Clock } from '@streamspace/protocol';
import type { Db } from '../db/database';

/** Finished commands are kept this long for GET /agents/:id/commands and debugging, in ms. */
export const FINISHED_COMMAND_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Delete finished commands past retention, so the queue table does not grow for ever. */
export async function purgeFinishedCommands(db: Db, clock: Clock): Promise<number> {
  const result = await db
    .deleteFrom('agentCommands')
    .where('state', 'in', ['completed', 'failed', 'expired'])
    .where('finishedAt', '<', new Date(clock.now() - FINISHED_COMMAND_RETENTION_MS))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
