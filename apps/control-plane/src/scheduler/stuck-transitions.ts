import type { Logger } from 'pino';
import type { Clock, CommandPayload, CommandType, SessionState } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { AgentCommandRow, SessionRow } from '../db/schema';
import type { CommandSink, SessionChanged } from '../sessions/session-ports';
import { buildSessionSpec } from '../sessions/session-spec-builder';
import { recordSessionEvent, transitionSession } from '../sessions/session-transitions';
import { claimMark, findMark, lifecycleDb, lifecycleTrx } from './lifecycle-tables';
import { SCHEDULER_ACTOR } from './lifecycle-policy';
import { formatMinutes, formatTime } from './lifecycle-wording';

type InBetweenState = Extract<SessionState, 'starting' | 'stopping' | 'hibernating' | 'waking'>;

/** The command that moves a session out of each in-between state. */
const COMMAND_FOR: Record<InBetweenState, CommandType> = {
  starting: 'start_session',
  stopping: 'stop_session',
  hibernating: 'hibernate_session',
  waking: 'wake_session',
};
const VERB: Record<InBetweenState, string> = {
  starting: 'start',
  stopping: 'stop',
  hibernating: 'hibernate',
  waking: 'wake',
};

export interface StuckReport {
  retried: string[];
  failed: string[];
}

/**
 * Finds sessions stuck between states and resolves them (issue 5 item 4): a command the
 * agent acknowledged and never finished, or no command at all, is retried once; if the
 * retry does not finish either, the session becomes `failed` with a reason. Commands still
 * waiting for an offline agent are left to the queue's deadline, with one backstop: nothing
 * stays in between longer than the command deadline plus the stuck timeout.
 */
export function createStuckTransitions({
  db,
  clock,
  logger,
  commands,
  changed,
  stuckAfterMs,
  commandDeadlineMs,
  onDecision,
}: {
  db: Db;
  clock: Clock;
  logger: Logger;
  commands: CommandSink;
  changed: SessionChanged;
  /** STREAMSPACE_STUCK_TRANSITION_MINUTES in ms: silence after an ack that counts as stuck. */
  stuckAfterMs: number;
  commandDeadlineMs: number;
  onDecision?: (decision: keyof StuckReport) => void;
}) {
  const log = logger.child({ module: 'stuck-transitions' });
  const ldb = lifecycleDb(db);

  /**
   * The newest command of this type, queued at or after `since` (the queue stamps commands on
   * the clock). Without `since` it may be an earlier episode's, which then looks finished or
   * dangling: either way the session did not move, which is what "stuck" means.
   */
  async function latestCommand(
    sessionId: string,
    type: CommandType,
    since = 0,
  ): Promise<AgentCommandRow | undefined> {
    return db
      .selectFrom('agentCommands')
      .selectAll()
      .where('sessionId', '=', sessionId)
      .where('type', '=', type)
      .where('createdAt', '>=', new Date(since))
      .orderBy('createdAt', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Why the command has not moved the session, or undefined when it is not stuck yet. */
  function stuckBecause(
    command: AgentCommandRow | undefined,
    startedAt: number,
    now: number,
  ): string | undefined {
    if (command === undefined || ['completed', 'failed', 'expired'].includes(command.state)) {
      if (now - startedAt < stuckAfterMs) return undefined;
      return command === undefined
        ? `no command was in flight for ${formatMinutes((now - startedAt) / 60_000)}`
        : `its command ended (${command.state}) but the session did not move`;
    }
    if (command.state === 'acked') {
      const ackedAt = (command.ackedAt ?? command.updatedAt).getTime();
      if (now - ackedAt < stuckAfterMs) return undefined;
      return `the agent acknowledged it at ${formatTime(ackedAt, now)} and reported no result`;
    }
    // pending or sent: the agent has not taken it yet; the queue's deadline decides.
    const queuedAt = Math.min(startedAt, command.createdAt.getTime());
    if (now - queuedAt < commandDeadlineMs + stuckAfterMs) return undefined;
    return `the agent never took it (${command.state} since ${formatTime(queuedAt, now)})`;
  }

  async function retryPayload(
    session: SessionRow,
    state: InBetweenState,
    previous: AgentCommandRow | undefined,
  ): Promise<CommandPayload> {
    if (previous !== undefined) return previous.payload;
    switch (state) {
      case 'stopping':
        return {
          type: 'stop_session',
          sessionId: session.id,
          deleteHome: false,
          homeKey: session.homeKey,
        };
      case 'hibernating':
        return { type: 'hibernate_session', sessionId: session.id };
      case 'starting':
      case 'waking': {
        const template = await db
          .selectFrom('templates')
          .selectAll()
          .where('id', '=', session.templateId)
          .executeTakeFirstOrThrow();
        const spec = buildSessionSpec(session, template);
        return state === 'starting'
          ? { type: 'start_session', sessionId: session.id, spec }
          : { type: 'wake_session', sessionId: session.id, spec };
      }
    }
  }

  async function fail(session: SessionRow, state: InBetweenState, entryId: string, reason: string) {
    const moved = await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('sessions')
        .select('state')
        .where('id', '=', session.id)
        .forUpdate()
        .executeTakeFirst();
      const entry = await latestEntry(session.id, state, trx);
      if (current?.state !== state || entry?.id !== entryId) return false;
      await transitionSession(
        trx,
        session.id,
        { to: 'failed', actor: SCHEDULER_ACTOR, reason },
        log,
      );
      return true;
    });
    if (moved) {
      log.warn({ sessionId: session.id, state }, 'stuck transition resolved as failed');
      changed(session.id);
    }
    return moved;
  }

  async function latestEntry(
    sessionId: string,
    state: SessionState,
    source: Pick<Db, 'selectFrom'> = db,
  ) {
    return source
      .selectFrom('sessionEvents')
      .select(['id', 'at'])
      .where('sessionId', '=', sessionId)
      .where('kind', '=', 'transition')
      .where('toState', '=', state)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async function check(session: SessionRow, now: number, report: StuckReport): Promise<void> {
    const state = session.state as InBetweenState;
    const verb = VERB[state];
    const entry = await latestEntry(session.id, state);
    const entryKey = entry?.id ?? `updated-${session.updatedAt.getTime()}`;
    // Ages are measured on the injected clock from the first pass that saw this episode (at
    // most one interval late), never by comparing it with timestamps the database stamped.
    await claimMark(ldb, {
      sessionId: session.id,
      kind: 'transition_seen',
      key: entryKey,
      at: new Date(now),
    });
    const enteredAt =
      (await findMark(ldb, session.id, 'transition_seen', entryKey))?.getTime() ?? now;
    const retriedAt = (await findMark(ldb, session.id, 'transition_retry', entryKey))?.getTime();

    if (retriedAt === undefined) {
      const command = await latestCommand(session.id, COMMAND_FOR[state]);
      const because = stuckBecause(command, enteredAt, now);
      if (because === undefined) return;
      if (session.agentId === null) {
        const reason = `${verb} did not complete: ${because}; the session has no agent`;
        if (await fail(session, state, entryKey, reason)) {
          report.failed.push(session.id);
          onDecision?.('failed');
        }
        return;
      }
      const agentId = session.agentId;
      const payload = await retryPayload(session, state, command);
      const retried = await db.transaction().execute(async (trx) => {
        const claimed = await claimMark(lifecycleTrx(trx), {
          sessionId: session.id,
          kind: 'transition_retry',
          key: entryKey,
          at: new Date(now),
        });
        if (!claimed) return false;
        await commands.enqueue({ agentId, sessionId: session.id, payload }, trx);
        await recordSessionEvent(trx, {
          sessionId: session.id,
          kind: 'warning',
          actor: SCHEDULER_ACTOR,
          reason: `${verb} is taking too long: ${because}; retrying once`,
        });
        return true;
      });
      if (retried) {
        log.warn({ sessionId: session.id, state }, 'stuck transition retried');
        report.retried.push(session.id);
        onDecision?.('retried');
        changed(session.id);
      }
      return;
    }

    const retry = await latestCommand(session.id, COMMAND_FOR[state], retriedAt);
    const because = stuckBecause(retry, retriedAt, now);
    if (because === undefined) return;
    const reason =
      `${verb} did not complete: retried once at ${formatTime(retriedAt, now)} and ${because}; ` +
      'marked failed so it does not hang (stop it to clean up)';
    if (await fail(session, state, entryKey, reason)) {
      report.failed.push(session.id);
      onDecision?.('failed');
    }
  }

  return {
    async run(): Promise<StuckReport> {
      const report: StuckReport = { retried: [], failed: [] };
      const now = clock.now();
      const sessions = await db
        .selectFrom('sessions')
        .selectAll()
        .where('state', 'in', ['starting', 'stopping', 'hibernating', 'waking'])
        .execute();
      for (const session of sessions) {
        try {
          await check(session, now, report);
        } catch (error) {
          log.error({ err: error, sessionId: session.id }, 'stuck transition check failed');
        }
      }
      return report;
    },
  };
}
