import type { Logger } from 'pino';
import type { Clock, CommandPayload, CommandState } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { AgentCommandRow } from '../db/schema';
import type { AgentHub } from '../hub/agent-hub';
import { retryDelayMs, type RetryPolicy } from './command-backoff';

/** Rows claimed per transaction; a larger backlog is sent in several rounds. */
const BATCH = 200;

export interface CommandDispatcherDeps {
  db: Db;
  hub: Pick<AgentHub, 'send' | 'isConnected' | 'connectedAgentIds'>;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  random: () => number;
  observeFirstSend: (type: string, seconds: number) => void;
}

/**
 * `reconnect`: the agent just said hello, so send everything still open (pending, sent and
 * acked: a result lost with the old socket is only recovered by asking again; the agent
 * answers a duplicate with its first outcome). `due`: pending commands and un-acked ones
 * whose back-off elapsed.
 */
export type DispatchMode = 'reconnect' | 'due';

/**
 * Claims command rows with FOR UPDATE SKIP LOCKED (so replicas never send one row twice at
 * once), records the attempt, commits, then writes to the socket. Only the process holding
 * the agent's socket sends.
 */
export function createCommandDispatcher(deps: CommandDispatcherDeps) {
  const { db, hub, clock, logger } = deps;
  const running = new Set<Promise<void>>();

  async function claim(
    agentId: string,
    mode: DispatchMode,
    exclude: string[],
  ): Promise<{ row: AgentCommandRow; first: boolean }[]> {
    const now = new Date(clock.now());
    return db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('agentCommands')
        .selectAll()
        .where('agentId', '=', agentId)
        .where('deadline', '>', now);
      query =
        mode === 'reconnect'
          ? query.where('state', 'in', ['pending', 'sent', 'acked'])
          : query.where('state', 'in', ['pending', 'sent']).where('nextAttemptAt', '<=', now);
      if (exclude.length > 0) query = query.where('id', 'not in', exclude);
      const rows = await query
        .orderBy('createdAt')
        .orderBy('id')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      const claimed: { row: AgentCommandRow; first: boolean }[] = [];
      for (const row of rows) {
        const attempts = row.attempts + 1;
        const state: CommandState = row.state === 'pending' ? 'sent' : row.state;
        const updated = await trx
          .updateTable('agentCommands')
          .set({
            state,
            attempts,
            sentAt: row.sentAt ?? now,
            nextAttemptAt: new Date(
              now.getTime() + retryDelayMs(attempts, deps.retry, deps.random),
            ),
            updatedAt: now,
          })
          .where('id', '=', row.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        claimed.push({ row: updated, first: row.sentAt === null });
      }
      return claimed;
    });
  }

  async function run(agentId: string, mode: DispatchMode): Promise<void> {
    const sent: string[] = [];
    for (;;) {
      if (!hub.isConnected(agentId)) return;
      const claimed = await claim(agentId, mode, mode === 'reconnect' ? sent : []);
      for (const { row, first } of claimed) {
        const delivered = hub.send(agentId, {
          type: 'command',
          commandId: row.id,
          deadline: row.deadline.toISOString(),
          command: row.payload as CommandPayload,
        });
        sent.push(row.id);
        if (first && delivered)
          deps.observeFirstSend(row.type, (clock.now() - row.createdAt.getTime()) / 1000);
        logger.debug(
          { commandId: row.id, agentId, attempt: row.attempts, delivered },
          'command sent',
        );
      }
      if (claimed.length < BATCH) return;
    }
  }

  function track(promise: Promise<void>): Promise<void> {
    const tracked = promise.catch((error: unknown) =>
      logger.error({ err: error }, 'command dispatch failed'),
    );
    running.add(tracked);
    void tracked.finally(() => running.delete(tracked));
    return tracked;
  }

  return {
    dispatch: (agentId: string, mode: DispatchMode): Promise<void> => track(run(agentId, mode)),
    /** Re-send due commands to every agent this process holds. */
    async dispatchDue(): Promise<void> {
      const connected = hub.connectedAgentIds();
      if (connected.length === 0) return;
      const rows = await db
        .selectFrom('agentCommands')
        .select('agentId')
        .distinct()
        .where('agentId', 'in', connected)
        .where('state', 'in', ['pending', 'sent'])
        .where('nextAttemptAt', '<=', new Date(clock.now()))
        .execute();
      await Promise.all(
        rows.map((row) => (row.agentId === null ? undefined : track(run(row.agentId, 'due')))),
      );
    },
    /** Resolves when no dispatch is in flight (for shutdown). */
    async idle(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}
