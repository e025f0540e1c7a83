import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import type { Database, SessionRow } from '../db/schema';
import type { CommandSink } from './session-ports';
import { transitionSession } from './session-transitions';

export interface StopRequest {
  actor: string;
  reason: string;
  deleteHome: boolean;
}

/**
 * The one stop rule, inside the caller's transaction on a locked row (users, admins and
 * the scheduler all stop through here):
 * - a session holding compute moves to stopping and its agent gets stop_session;
 * - one holding none (pending, hibernated, failed) is stopped at once, and its agent still
 *   gets a stop so it releases what is left (an exited container, a hibernation record) and
 *   deletes the home when asked;
 * - one whose agent was deleted is stopped at once: nobody could confirm a stop;
 * - stopping or stopped is left as it is (only a home deletion is passed on).
 */
export async function stopSessionLocked(
  trx: Transaction<Database>,
  current: SessionRow,
  request: StopRequest,
  commands: CommandSink,
  logger: Logger,
): Promise<'stopping' | 'stopped' | 'unchanged'> {
  const sendStop = async () => {
    if (current.agentId === null) return;
    await commands.enqueue(
      {
        agentId: current.agentId,
        sessionId: current.id,
        payload: {
          type: 'stop_session',
          sessionId: current.id,
          deleteHome: request.deleteHome,
          homeKey: current.homeKey,
        },
      },
      trx,
    );
  };
  const move = (to: 'stopping' | 'stopped', reason = request.reason) =>
    transitionSession(trx, current.id, { to, actor: request.actor, reason }, logger);

  if (current.state === 'stopped' || current.state === 'stopping') {
    if (request.deleteHome) await sendStop();
    return 'unchanged';
  }
  if (current.agentId === null) {
    const reason = `${request.reason} (its agent no longer exists)`;
    if (!['pending', 'hibernated', 'failed'].includes(current.state))
      await move('stopping', reason);
    await move('stopped', reason);
    return 'stopped';
  }
  if (current.state === 'pending' || current.state === 'hibernated' || current.state === 'failed') {
    await move('stopped');
    await sendStop();
    return 'stopped';
  }
  await move('stopping');
  await sendStop();
  return 'stopping';
}
