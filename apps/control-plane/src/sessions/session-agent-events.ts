import type { Logger } from 'pino';
import type {
  CommandPayload,
  CommandType,
  SessionObservation,
  SessionState,
} from '@streamspace/protocol';
import type { CommandOutcomeEvent } from '../commands/command-queue';
import type { Db } from '../db/database';
import { ApiError } from '../http/api-error';
import type { CommandSink, SessionChanged } from './session-ports';
import { transitionSession, type TransitionRequest } from './session-transitions';

/** How a command finished, as the command queue reports it. */
export type CommandResult = CommandOutcomeEvent['result'];

export interface FinishedCommand {
  sessionId: string;
  payload: CommandPayload;
}

/** The in-between state each command moves a session out of. */
const AWAITED_STATE: Record<CommandType, SessionState> = {
  start_session: 'starting',
  wake_session: 'waking',
  hibernate_session: 'hibernating',
  stop_session: 'stopping',
};

function verbOf(type: CommandType): string {
  return type.replace('_session', '');
}

export type SessionAgentEvents = ReturnType<typeof createSessionAgentEvents>;

/**
 * Applies what agents report to sessions: command outcomes move sessions out of their
 * in-between states; spontaneous reports and inventories mark sessions that died.
 */
export function createSessionAgentEvents({
  db,
  logger,
  changed,
  commands,
}: {
  db: Db;
  logger: Logger;
  changed: SessionChanged;
  commands: CommandSink;
}) {
  const log = logger.child({ module: 'session-agent-events' });

  /** Apply a move if it is still legal; a session that moved on meanwhile is left alone. */
  async function moveIf(
    sessionId: string,
    from: readonly SessionState[],
    request: TransitionRequest,
  ): Promise<boolean> {
    try {
      const moved = await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('sessions')
          .select('state')
          .where('id', '=', sessionId)
          .forUpdate()
          .executeTakeFirst();
        if (current === undefined || !from.includes(current.state)) return false;
        await transitionSession(trx, sessionId, request, log);
        return true;
      });
      if (moved) changed(sessionId);
      return moved;
    } catch (error) {
      if (error instanceof ApiError) return false;
      throw error;
    }
  }

  async function currentReason(sessionId: string): Promise<string> {
    const row = await db
      .selectFrom('sessions')
      .select('stateReason')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    return row?.stateReason ?? '';
  }

  async function onCommandFinished(
    command: FinishedCommand,
    result: CommandResult,
    agentActor: string,
  ): Promise<void> {
    const { sessionId, payload } = command;
    // A command only decides the state it was sent for: a start that fails after the user
    // asked to stop must not turn the stop into a failure.
    const awaited = AWAITED_STATE[payload.type];
    if (result.kind === 'expired') {
      const reason = `${verbOf(payload.type)} did not complete: ${result.reason}`;
      await moveIf(sessionId, [awaited], { to: 'failed', actor: 'system', reason });
      return;
    }
    if (!result.outcome.ok) {
      const { code, message } = result.outcome.error;
      const reason = `${verbOf(payload.type)} failed on the agent (${code}): ${message}`;
      await moveIf(sessionId, [awaited], { to: 'failed', actor: agentActor, reason });
      return;
    }
    const observation = result.outcome.observation;
    const details = observation === undefined ? undefined : JSON.stringify(observation.details);
    switch (payload.type) {
      case 'start_session':
      case 'wake_session':
        await moveIf(sessionId, [payload.type === 'start_session' ? 'starting' : 'waking'], {
          to: 'running',
          actor: agentActor,
          reason: payload.type === 'start_session' ? 'started' : 'woken from hibernation',
          ...(details !== undefined ? { also: { details } } : {}),
        });
        return;
      case 'hibernate_session':
        await moveIf(sessionId, ['hibernating'], {
          to: 'hibernated',
          actor: agentActor,
          reason: `hibernated (${await currentReason(sessionId)}); compute released, home kept`,
        });
        return;
      case 'stop_session':
        await moveIf(sessionId, ['stopping'], {
          to: 'stopped',
          actor: agentActor,
          reason: `stopped (${await currentReason(sessionId)}); ${payload.deleteHome ? 'home deleted' : 'home kept'}`,
        });
        return;
    }
  }

  /** The agent says a session died or vanished on its own. Only the session's own agent counts. */
  async function onSessionReport(
    agentId: string,
    agentActor: string,
    observation: SessionObservation,
  ): Promise<void> {
    if (observation.status === 'running') return;
    const owner = await db
      .selectFrom('sessions')
      .select('agentId')
      .where('id', '=', observation.sessionId)
      .executeTakeFirst();
    if (owner?.agentId !== agentId) {
      log.warn(
        { agentId, sessionId: observation.sessionId },
        'session report ignored: the agent does not run this session',
      );
      return;
    }
    if (observation.status === 'stopped') {
      // The app ended on its own (a user closed it): the session is over, not failed. The
      // agent still gets a stop so that it releases what is left (an exited container).
      const reason = `the session ended on its own (${observation.reason ?? 'the app exited'})`;
      const moved = await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('sessions')
          .select(['state', 'homeKey'])
          .where('id', '=', observation.sessionId)
          .forUpdate()
          .executeTakeFirst();
        if (current?.state !== 'running') return false;
        await transitionSession(
          trx,
          observation.sessionId,
          { to: 'stopping', actor: agentActor, reason },
          log,
        );
        await commands.enqueue(
          {
            agentId,
            sessionId: observation.sessionId,
            payload: {
              type: 'stop_session',
              sessionId: observation.sessionId,
              deleteHome: false,
              homeKey: current.homeKey,
            },
          },
          trx,
        );
        return true;
      });
      if (moved) changed(observation.sessionId);
      return;
    }
    const reason = observation.reason ?? 'the session exited unexpectedly';
    await moveIf(observation.sessionId, ['running', 'starting', 'waking'], {
      to: 'failed',
      actor: agentActor,
      reason,
    });
  }

  /**
   * On hello: sessions the database thinks run on this agent but the agent does not report
   * as running are failed with the reason. Sessions with a command in flight are skipped:
   * the command's outcome decides them.
   */
  async function onInventory(
    agentId: string,
    agentActor: string,
    inventory: readonly SessionObservation[],
  ): Promise<void> {
    const reported = new Map(inventory.map((observation) => [observation.sessionId, observation]));
    const running = await db
      .selectFrom('sessions')
      .select(['id'])
      .where('agentId', '=', agentId)
      .where('state', '=', 'running')
      .execute();
    for (const { id } of running) {
      const seen = reported.get(id);
      if (seen?.status === 'running') continue;
      const reason =
        seen === undefined
          ? 'the agent no longer runs this session (not in its inventory after reconnecting)'
          : `the agent reports it ${seen.status}${seen.reason ? `: ${seen.reason}` : ''}`;
      await moveIf(id, ['running'], { to: 'failed', actor: agentActor, reason });
    }
    await releaseFailedButRunning(agentId, inventory);
  }

  /**
   * A session the database holds as failed (its agent was offline when it was failed, or a
   * command expired) that the agent still runs is using compute nobody can reach: the agent
   * gets a stop for it, once per failure. The session stays failed with its reason.
   */
  async function releaseFailedButRunning(
    agentId: string,
    inventory: readonly SessionObservation[],
  ): Promise<void> {
    const runningIds = inventory.filter((o) => o.status === 'running').map((o) => o.sessionId);
    if (runningIds.length === 0) return;
    const failed = await db
      .selectFrom('sessions')
      .select(['id', 'homeKey'])
      .where('agentId', '=', agentId)
      .where('state', '=', 'failed')
      .where('id', 'in', runningIds)
      .execute();
    for (const session of failed) {
      const pending = await db
        .selectFrom('agentCommands')
        .select('id')
        .where('sessionId', '=', session.id)
        .where('type', '=', 'stop_session')
        .where('state', 'in', ['pending', 'sent', 'acked'])
        .executeTakeFirst();
      if (pending !== undefined) continue;
      log.info(
        { agentId, sessionId: session.id },
        'stopping a failed session the agent still runs',
      );
      await commands.enqueue({
        agentId,
        sessionId: session.id,
        payload: {
          type: 'stop_session',
          sessionId: session.id,
          deleteHome: false,
          homeKey: session.homeKey,
        },
      });
    }
  }

  /**
   * An admin deletes an agent: nothing can confirm anything about its sessions any more.
   * Sessions that held compute fail with the reason (their processes may still exist on
   * that host); pending and hibernated ones are stopped (their home stays on that host).
   */
  async function onAgentDeleted(agentId: string, actor: string): Promise<void> {
    const agent = await db
      .selectFrom('agents')
      .select('name')
      .where('id', '=', agentId)
      .executeTakeFirst();
    const reason = `its agent "${agent?.name ?? agentId}" was deleted by ${actor}`;
    const sessions = await db
      .selectFrom('sessions')
      .select(['id', 'state'])
      .where('agentId', '=', agentId)
      .where('state', 'not in', ['stopped', 'failed'])
      .execute();
    for (const { id, state } of sessions) {
      if (state === 'pending' || state === 'hibernated') {
        await moveIf(id, [state], { to: 'stopped', actor, reason });
      } else {
        await moveIf(id, [state], { to: 'failed', actor, reason });
      }
    }
  }

  return { onCommandFinished, onSessionReport, onInventory, onAgentDeleted };
}
