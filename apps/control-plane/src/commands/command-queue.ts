import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { Histogram } from 'prom-client';
import {
  CommandState,
  type Clock,
  type ClockTimer,
  type CommandOutcome,
  type CommandPayload,
} from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { AgentCommandRow, Database } from '../db/schema';
import { createListeners } from '../hub/listeners';
import type { AgentHub, CommandResult } from '../hub/agent-hub';
import { registerCollectedGauge, type Metrics } from '../metrics/metrics';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './command-backoff';
import { createCommandDispatcher } from './command-dispatcher';
import { listenForQueuedCommands, notifyCommandsQueued } from './command-notifier';

/** States in which a command still waits for its agent. */
export const OPEN_COMMAND_STATES: readonly CommandState[] = ['pending', 'sent', 'acked'];

/**
 * A finished command is never sent again, so the session's VNC password in a start or wake
 * payload is dropped from the row: the queue is not a second, permanent copy of secrets.
 */
const FORGET_VNC_PASSWORD = sql<string>`payload #- '{spec,vncPassword}'`;

export interface EnqueueCommand {
  agentId: string;
  sessionId: string;
  payload: CommandPayload;
  /** How long the command may wait for its agent, in ms (default: config.commandDeadlineMs). */
  deadlineMs?: number;
}

export type CommandOutcomeEvent = {
  command: AgentCommandRow;
  result:
    { kind: 'completed' | 'failed'; outcome: CommandOutcome } | { kind: 'expired'; reason: string };
};

export interface CommandQueueDeps {
  db: Db;
  /** For the LISTEN connection that hears commands queued by any replica. */
  databaseUrl: string;
  hub: Pick<
    AgentHub,
    | 'send'
    | 'isConnected'
    | 'connectedAgentIds'
    | 'onAgentHello'
    | 'onCommandAck'
    | 'onCommandResult'
  >;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Default deadline of a command, in ms after it is queued. */
  defaultDeadlineMs: number;
  /** How often to re-send due commands and expire late ones, in ms. */
  sweepIntervalMs?: number;
  retry?: RetryPolicy;
  random?: () => number;
}

export type CommandQueue = ReturnType<typeof createCommandQueue>;

/**
 * The durable agent command queue (issue 2 #7): rows in agent_commands move
 * pending → sent → acked → completed | failed | expired. PostgreSQL holds every state, so a
 * restart loses nothing; docs/protocol.md describes the life cycle.
 */
export function createCommandQueue(deps: CommandQueueDeps) {
  const { db, hub, clock, metrics } = deps;
  const logger = deps.logger.child({ module: 'commands' });
  const sweepIntervalMs = deps.sweepIntervalMs ?? 1_000;
  const retry = deps.retry ?? DEFAULT_RETRY_POLICY;
  const random = deps.random ?? Math.random;
  const outcomes = createListeners<[CommandOutcomeEvent]>(logger, 'command_outcome');
  const dispatchLatency = new Histogram({
    name: 'streamspace_command_dispatch_seconds',
    help: 'Time from queueing a command to its first send to the agent.',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    registers: [metrics.registry],
  });
  registerCollectedGauge(
    metrics,
    'streamspace_agent_commands',
    'Agent commands in the database, by state.',
    'state',
    async () => {
      const rows = await db
        .selectFrom('agentCommands')
        .select(['state', (eb) => eb.fn.countAll<string>().as('count')])
        .groupBy('state')
        .execute();
      const counts = Object.fromEntries(CommandState.options.map((state) => [state, 0]));
      for (const row of rows) counts[row.state] = Number(row.count);
      return counts;
    },
  );
  const dispatcher = createCommandDispatcher({
    db,
    hub,
    clock,
    logger,
    retry,
    observeFirstSend: (type, seconds) => dispatchLatency.observe({ type }, seconds),
  });
  let sweepTimer: ClockTimer | undefined;
  let sweepQueued = false;
  let sweepTail: Promise<void> = Promise.resolve();
  let stopped = true;
  let listener: { close(): Promise<void> } | undefined;

  const unsubscribe = [
    hub.onAgentHello((agentId) => dispatcher.dispatch(agentId, 'reconnect')),
    hub.onCommandAck(async (agentId, { commandId }) => {
      const now = new Date(clock.now());
      const result = await db
        .updateTable('agentCommands')
        .set({ state: 'acked', ackedAt: now, updatedAt: now })
        .where('id', '=', commandId)
        .where('agentId', '=', agentId)
        .where('state', 'in', ['pending', 'sent'])
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n)
        logger.debug({ agentId, commandId }, 'ack for an unknown or finished command ignored');
    }),
    hub.onCommandResult((agentId, message) => recordResult(agentId, message)),
  ];

  async function recordResult(agentId: string, { commandId, outcome }: CommandResult) {
    const now = new Date(clock.now());
    const row = await db
      .updateTable('agentCommands')
      .set({
        state: outcome.ok ? 'completed' : 'failed',
        payload: FORGET_VNC_PASSWORD,
        outcome: JSON.stringify(outcome),
        error: outcome.ok ? null : `${outcome.error.code}: ${outcome.error.message}`,
        finishedAt: now,
        updatedAt: now,
      })
      .where('id', '=', commandId)
      .where('agentId', '=', agentId)
      .where('state', 'in', OPEN_COMMAND_STATES)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) {
      // A duplicate after a re-send, or a result after the deadline expired the command.
      logger.debug({ agentId, commandId }, 'result for an unknown or finished command ignored');
      return;
    }
    logger.info({ agentId, commandId, state: row.state }, 'command finished');
    await outcomes.emit({
      command: row,
      result: { kind: outcome.ok ? 'completed' : 'failed', outcome },
    });
  }

  /** Expire open commands past their deadline, and those whose agent was deleted. */
  async function expireLate(): Promise<void> {
    const now = new Date(clock.now());
    const expired = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('agentCommands')
        .selectAll()
        .where('state', 'in', OPEN_COMMAND_STATES)
        .where((eb) => eb.or([eb('deadline', '<=', now), eb('agentId', 'is', null)]))
        .orderBy('deadline')
        .limit(500)
        .forUpdate()
        .skipLocked()
        .execute();
      const done: { row: AgentCommandRow; reason: string }[] = [];
      for (const row of rows) {
        const reason = expiryReason(row);
        const updated = await trx
          .updateTable('agentCommands')
          .set({
            state: 'expired',
            payload: FORGET_VNC_PASSWORD,
            error: reason,
            finishedAt: now,
            updatedAt: now,
          })
          .where('id', '=', row.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        done.push({ row: updated, reason });
      }
      return done;
    });
    for (const { row, reason } of expired) {
      logger.info({ commandId: row.id, agentId: row.agentId, reason }, 'command expired');
      await outcomes.emit({ command: row, result: { kind: 'expired', reason } });
    }
  }

  /**
   * Sweeps run one at a time; calls during a sweep share one follow-up sweep, which reads
   * the clock when it starts (so a fake clock advanced past many timers sweeps at its end).
   */
  function sweep(): Promise<void> {
    if (sweepQueued) return sweepTail;
    sweepQueued = true;
    sweepTail = sweepTail.then(async () => {
      sweepQueued = false;
      try {
        await expireLate();
        await dispatcher.dispatchDue();
      } catch (error) {
        logger.error({ err: error }, 'command sweep failed');
      }
    });
    return sweepTail;
  }

  function scheduleSweep(): void {
    if (stopped) return;
    sweepTimer = clock.setTimeout(() => {
      // Re-arm first: a fake clock advanced during a sweep must still find a timer.
      scheduleSweep();
      void sweep();
    }, sweepIntervalMs);
  }

  return {
    /**
     * Queue a command for an agent. With `trx` the row is inserted in the caller's
     * transaction and dispatched once it commits (PostgreSQL NOTIFY is delivered on commit);
     * without, it is sent at once when this process holds the agent's socket.
     */
    async enqueue(
      { agentId, sessionId, payload, deadlineMs }: EnqueueCommand,
      trx?: Transaction<Database>,
    ): Promise<AgentCommandRow> {
      if (payload.sessionId !== sessionId)
        throw new Error('command payload names a different session than the command');
      const now = clock.now();
      const executor = trx ?? db;
      // Fast path: outside a transaction, with the agent's socket here, the row is born
      // `sent` and goes out right after the INSERT commits: one round trip. Otherwise it is
      // `pending` and the NOTIFY (delivered at commit) reaches the replica with the socket.
      const direct = trx === undefined && hub.isConnected(agentId);
      const row = await executor
        .insertInto('agentCommands')
        .values({
          agentId,
          sessionId,
          type: payload.type,
          payload: JSON.stringify(payload),
          state: direct ? 'sent' : 'pending',
          attempts: direct ? 1 : 0,
          sentAt: direct ? new Date(now) : null,
          nextAttemptAt: new Date(direct ? now + retryDelayMs(1, retry, random) : now),
          deadline: new Date(now + (deadlineMs ?? deps.defaultDeadlineMs)),
          createdAt: new Date(now),
          updatedAt: new Date(now),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      logger.debug({ commandId: row.id, agentId, type: row.type, direct }, 'command queued');
      if (!direct) {
        await notifyCommandsQueued(executor, agentId);
        return row;
      }
      const delivered = hub.send(agentId, {
        type: 'command',
        commandId: row.id,
        deadline: row.deadline.toISOString(),
        command: payload,
      });
      // Undelivered (the socket just went): the sweep or the next hello re-sends it.
      if (delivered) dispatchLatency.observe({ type: row.type }, (clock.now() - now) / 1000);
      return row;
    },
    /** Listen for commands reaching completed, failed or expired (after the row is updated). */
    onOutcome: outcomes.add,
    /** Send what is due for an agent now (e.g. after the caller's transaction committed). */
    nudge: (agentId: string): Promise<void> => dispatcher.dispatch(agentId, 'due'),
    /** One pass of the periodic work: expire late commands, re-send unacknowledged ones. */
    sweep,
    start(): void {
      if (!stopped) return;
      stopped = false;
      listener = listenForQueuedCommands(deps.databaseUrl, logger, (agentId) => {
        if (hub.isConnected(agentId)) void dispatcher.dispatch(agentId, 'due');
      });
      scheduleSweep();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (sweepTimer !== undefined) clock.clearTimeout(sweepTimer);
      for (const off of unsubscribe) off();
      await listener?.close();
      await sweepTail;
      await dispatcher.idle();
    },
  };
}

function expiryReason(row: AgentCommandRow): string {
  if (row.agentId === null) return 'the agent was deleted before the command finished';
  switch (row.state) {
    case 'pending':
      return 'the agent was not connected before the command deadline';
    case 'sent':
      return 'the agent did not acknowledge the command before its deadline';
    default:
      return 'the agent acknowledged the command but did not finish it before its deadline';
  }
}
