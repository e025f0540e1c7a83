import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, CommandPayload } from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { AgentCommandRow } from '../db/schema';
import type { AgentHub } from '../hub/agent-hub';
import type { RetryPolicy } from './command-backoff';

/** Rows claimed per transaction; a larger backlog is sent in several rounds. */
const BATCH = 200;

export interface CommandDispatcherDeps {
  db: Db;
  hub: Pick<AgentHub, 'send' | 'isConnected' | 'connectedAgentIds'>;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
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

  /**
   * One statement: lock the due rows (SKIP LOCKED: rows another replica is claiming are
   * left to it), count the attempt, set the next re-send time with equal jitter (the SQL
   * twin of retryDelayMs), and return them. Committed before anything is written to the
   * socket, so an ack can never race the claim.
   */
  async function claim(
    agentId: string,
    mode: DispatchMode,
    exclude: string[],
  ): Promise<{ row: AgentCommandRow; first: boolean }[]> {
    const now = new Date(clock.now());
    const states = mode === 'reconnect' ? ['pending', 'sent', 'acked'] : ['pending', 'sent'];
    const result = await sql<AgentCommandRow & { firstSend: boolean }>`
      WITH due AS (
        SELECT id, sent_at IS NULL AS first_send
        FROM agent_commands
        WHERE agent_id = ${agentId}
          AND deadline > ${now}
          AND state = ANY(${states}::text[])
          ${mode === 'due' ? sql`AND next_attempt_at <= ${now}` : sql``}
          ${exclude.length > 0 ? sql`AND id <> ALL(${exclude}::uuid[])` : sql``}
        ORDER BY created_at, id
        LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE agent_commands AS c SET
        state = CASE WHEN c.state = 'pending' THEN 'sent' ELSE c.state END,
        attempts = c.attempts + 1,
        sent_at = COALESCE(c.sent_at, ${now}),
        next_attempt_at = ${now}::timestamptz + interval '1 millisecond' *
          LEAST(${deps.retry.capMs}::float8, ${deps.retry.baseMs}::float8 * power(2, c.attempts))
          * (0.5 + 0.5 * random()),
        updated_at = ${now}
      FROM due
      WHERE c.id = due.id
      RETURNING c.*, due.first_send
    `.execute(db);
    return result.rows
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
      .map(({ firstSend, ...row }) => ({ row, first: firstSend }));
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

  // One dispatch at a time per agent: concurrent runs claim disjoint rows under SKIP LOCKED
  // and could send a session's stop before the start queued ahead of it.
  const chains = new Map<string, Promise<void>>();
  function serialised(agentId: string, mode: DispatchMode): Promise<void> {
    const previous = chains.get(agentId) ?? Promise.resolve();
    const next = track(previous.then(() => run(agentId, mode)));
    chains.set(agentId, next);
    void next.finally(() => {
      if (chains.get(agentId) === next) chains.delete(agentId);
    });
    return next;
  }

  return {
    dispatch: serialised,
    /** Re-send due commands to every agent this process holds. */
    async dispatchDue(): Promise<void> {
      const connected = hub.connectedAgentIds();
      if (connected.length === 0) return;
      const rows = await db
        .selectFrom('agentCommands')
        .select('agentId')
        .distinct()
        // One array parameter, not one per agent: PostgreSQL takes at most 65,535 parameters.
        .where(sql<boolean>`agent_id = ANY(${connected}::uuid[])`)
        .where('state', 'in', ['pending', 'sent'])
        .where('nextAttemptAt', '<=', new Date(clock.now()))
        .execute();
      await Promise.all(
        rows.map((row) => (row.agentId === null ? undefined : serialised(row.agentId, 'due'))),
      );
    },
    /** Resolves when no dispatch is in flight (for shutdown). */
    async idle(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}
