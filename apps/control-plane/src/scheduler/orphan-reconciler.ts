import { sql } from 'kysely';
import type { Logger } from 'pino';
import type {
  Clock,
  OrphanPolicy,
  OrphanSession,
  OrphanStatus,
  SessionObservation,
} from '@streamspace/protocol';
import type { Db } from '../db/database';
import type { CommandSink, SessionChanged } from '../sessions/session-ports';
import { lifecycleDb, lifecycleTrx } from './lifecycle-tables';
import { adoptOrphan } from './orphan-adoption';
import { formatMinutes, formatTime } from './lifecycle-wording';

/** pg allows 65,535 bind parameters per statement; inventories may hold 100,000 sessions. */
const CHUNK = 5_000;

export interface OrphanReport {
  removing: string[];
  removed: string[];
  removeFailed: string[];
  left: string[];
  adopted: string[];
}

export type OrphanAction = 'reported' | keyof OrphanReport;

/**
 * Orphans: sessions an agent reports (hello inventory, session reports) that the database
 * does not know or knows as stopped (issue 5 item 4). Each is logged, counted and recorded
 * in orphan_sessions for admins; after the grace period the leader's pass applies
 * STREAMSPACE_ORPHAN_POLICY. Removal is an ordinary stop_session to the agent (drivers stop
 * any session id they hold, idempotently) for a session id the sessions table may not have:
 * migration 0003 lets agent_commands name a recorded orphan for exactly this.
 */
export function createOrphanReconciler({
  db,
  clock,
  logger,
  commands,
  changed,
  policy,
  graceMs,
  onAction,
}: {
  db: Db;
  clock: Clock;
  logger: Logger;
  commands: CommandSink;
  changed: SessionChanged;
  policy: OrphanPolicy;
  graceMs: number;
  onAction?: (action: OrphanAction) => void;
}) {
  const log = logger.child({ module: 'orphans' });
  const ldb = lifecycleDb(db);

  async function classify(ids: string[]): Promise<Map<string, 'unknown' | 'stopped' | 'tracked'>> {
    const result = new Map<string, 'unknown' | 'stopped' | 'tracked'>(
      ids.map((id) => [id, 'unknown']),
    );
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const sessions = await db
        .selectFrom('sessions')
        .select(['id', 'state'])
        .where('id', 'in', chunk)
        .execute();
      // A stopped session whose stop (or home deletion) is still on its way is not an orphan.
      const inFlight = new Set(
        (
          await db
            .selectFrom('agentCommands')
            .select('sessionId')
            .where('sessionId', 'in', chunk)
            .where('state', 'in', ['pending', 'sent', 'acked'])
            .where('type', '=', 'stop_session')
            .execute()
        ).map((row) => row.sessionId),
      );
      for (const { id, state } of sessions) {
        result.set(id, state === 'stopped' && !inFlight.has(id) ? 'stopped' : 'tracked');
      }
    }
    return result;
  }

  /**
   * Record what an agent reports. `complete` is true for a hello inventory: orphans of this
   * agent it no longer lists are marked gone.
   */
  async function observe(
    agentId: string,
    observations: readonly SessionObservation[],
    { complete }: { complete: boolean },
  ): Promise<void> {
    const now = new Date(clock.now());
    const known = await classify(observations.map((o) => o.sessionId));
    for (const observation of observations) {
      const knownAs = known.get(observation.sessionId);
      if (knownAs === undefined || knownAs === 'tracked') continue;
      const reason =
        knownAs === 'unknown'
          ? `reported ${observation.status} by the agent; the database has no such session`
          : `reported ${observation.status} by the agent; the database says it was stopped`;
      const result = await sql<{ status: OrphanStatus; fresh: boolean }>`
        INSERT INTO orphan_sessions AS o (agent_id, session_id, status, observed_status, known_as,
          details, reason, first_seen_at, last_seen_at)
        VALUES (${agentId}, ${observation.sessionId}, 'reported', ${observation.status}, ${knownAs},
          ${JSON.stringify(observation.details)}, ${reason}, ${now}, ${now})
        ON CONFLICT (agent_id, session_id) DO UPDATE SET
          last_seen_at = EXCLUDED.last_seen_at,
          observed_status = EXCLUDED.observed_status,
          known_as = EXCLUDED.known_as,
          details = EXCLUDED.details,
          updated_at = now(),
          status = CASE WHEN o.status IN ('removed', 'remove_failed', 'gone')
            THEN 'reported' ELSE o.status END,
          first_seen_at = CASE WHEN o.status IN ('removed', 'remove_failed', 'gone')
            THEN EXCLUDED.first_seen_at ELSE o.first_seen_at END,
          reason = CASE WHEN o.status IN ('removed', 'remove_failed', 'gone')
            THEN EXCLUDED.reason ELSE o.reason END
        RETURNING status, first_seen_at = ${now} AS fresh
      `.execute(db);
      if (result.rows[0]?.fresh === true) {
        log.warn(
          {
            agentId,
            sessionId: observation.sessionId,
            observedStatus: observation.status,
            knownAs,
            policy,
          },
          'orphan session reported',
        );
        onAction?.('reported');
      }
    }
    if (complete) {
      const listed = observations.map((o) => o.sessionId);
      let gone = ldb
        .updateTable('orphanSessions')
        .set({ status: 'gone', reason: 'no longer reported by the agent', updatedAt: now })
        .where('agentId', '=', agentId)
        .where('status', 'in', ['reported', 'left']);
      if (listed.length > 0 && listed.length <= CHUNK)
        gone = gone.where('sessionId', 'not in', listed);
      if (listed.length <= CHUNK) await gone.execute();
    }
  }

  async function setStatus(
    orphan: { agentId: string; sessionId: string },
    status: OrphanStatus,
    reason: string,
    commandId?: string,
  ): Promise<void> {
    await ldb
      .updateTable('orphanSessions')
      .set({
        status,
        reason,
        updatedAt: new Date(clock.now()),
        ...(commandId ? { commandId } : {}),
      })
      .where('agentId', '=', orphan.agentId)
      .where('sessionId', '=', orphan.sessionId)
      .execute();
  }

  async function remove(
    orphan: { agentId: string; sessionId: string },
    now: number,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await commands.enqueue(
        {
          agentId: orphan.agentId,
          sessionId: orphan.sessionId,
          // Never the home: it belongs to a user and may be shared with their other sessions.
          payload: { type: 'stop_session', sessionId: orphan.sessionId, deleteHome: false },
        },
        trx,
      );
      const command = await trx
        .selectFrom('agentCommands')
        .select('id')
        .where('sessionId', '=', orphan.sessionId)
        .where('agentId', '=', orphan.agentId)
        .orderBy('createdAt', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      await lifecycleTrx(trx)
        .updateTable('orphanSessions')
        .set({
          status: 'removing',
          commandId: command.id,
          reason: `removal sent to the agent at ${formatTime(now, now)} after a ${formatMinutes(graceMs / 60_000)} grace period (STREAMSPACE_ORPHAN_POLICY=remove)`,
          updatedAt: new Date(now),
        })
        .where('agentId', '=', orphan.agentId)
        .where('sessionId', '=', orphan.sessionId)
        .execute();
    });
  }

  async function run(): Promise<OrphanReport> {
    const report: OrphanReport = {
      removing: [],
      removed: [],
      removeFailed: [],
      left: [],
      adopted: [],
    };
    const now = clock.now();
    const act = (action: keyof OrphanReport, sessionId: string) => {
      report[action].push(sessionId);
      onAction?.(action);
    };

    const removing = await ldb
      .selectFrom('orphanSessions')
      .leftJoin('agentCommands', 'agentCommands.id', 'orphanSessions.commandId')
      .select([
        'orphanSessions.agentId',
        'orphanSessions.sessionId',
        'agentCommands.state as commandState',
        'agentCommands.error as commandError',
        'agentCommands.finishedAt as finishedAt',
      ])
      .where('orphanSessions.status', '=', 'removing')
      .execute();
    for (const orphan of removing) {
      if (orphan.commandState === 'completed') {
        const at = formatTime(orphan.finishedAt?.getTime() ?? now, now);
        await setStatus(
          orphan,
          'removed',
          `removed by the agent at ${at} (STREAMSPACE_ORPHAN_POLICY=remove)`,
        );
        log.info(
          { agentId: orphan.agentId, sessionId: orphan.sessionId },
          'orphan session removed',
        );
        act('removed', orphan.sessionId);
      } else if (
        orphan.commandState !== 'pending' &&
        orphan.commandState !== 'sent' &&
        orphan.commandState !== 'acked'
      ) {
        const why =
          orphan.commandState === null
            ? 'the removal command is gone'
            : `removal ${orphan.commandState}: ${orphan.commandError ?? 'no error given'}`;
        await setStatus(orphan, 'remove_failed', why);
        log.warn({ agentId: orphan.agentId, sessionId: orphan.sessionId }, 'orphan removal failed');
        act('removeFailed', orphan.sessionId);
      }
    }

    const due = await ldb
      .selectFrom('orphanSessions')
      .selectAll()
      .where('status', '=', 'reported')
      .where('firstSeenAt', '<=', new Date(now - graceMs))
      .execute();
    for (const orphan of due) {
      const knownAs = (await classify([orphan.sessionId])).get(orphan.sessionId);
      if (knownAs === 'tracked') {
        await setStatus(orphan, 'gone', 'the database now tracks this session');
        continue;
      }
      try {
        if (policy === 'remove') {
          await remove(orphan, now);
          log.info({ agentId: orphan.agentId, sessionId: orphan.sessionId }, 'orphan removal sent');
          act('removing', orphan.sessionId);
        } else if (policy === 'adopt') {
          const refused = await adoptOrphan({ db, changed }, orphan, now);
          if (refused === undefined) {
            log.info(
              { agentId: orphan.agentId, sessionId: orphan.sessionId },
              'orphan session adopted',
            );
            act('adopted', orphan.sessionId);
          } else {
            await setStatus(orphan, 'left', `cannot adopt (${refused}); left as it is`);
            act('left', orphan.sessionId);
          }
        } else {
          await setStatus(
            orphan,
            'left',
            `left as it is (STREAMSPACE_ORPHAN_POLICY=leave); first seen ${formatTime(orphan.firstSeenAt.getTime(), now)}`,
          );
          act('left', orphan.sessionId);
        }
      } catch (error) {
        log.error(
          { err: error, agentId: orphan.agentId, sessionId: orphan.sessionId },
          'orphan handling failed',
        );
      }
    }
    return report;
  }

  async function list(): Promise<OrphanSession[]> {
    const rows = await ldb
      .selectFrom('orphanSessions')
      .leftJoin('agents', 'agents.id', 'orphanSessions.agentId')
      .selectAll('orphanSessions')
      .select('agents.name as agentName')
      .orderBy('orphanSessions.firstSeenAt', 'desc')
      .limit(1000)
      .execute();
    return rows.map((row) => ({
      agentId: row.agentId,
      agentName: row.agentName,
      sessionId: row.sessionId,
      status: row.status,
      observedStatus: row.observedStatus,
      knownAs: row.knownAs,
      details: row.details,
      reason: row.reason,
      firstSeenAt: row.firstSeenAt.toISOString(),
      lastSeenAt: row.lastSeenAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    }));
  }

  return { observe, run, list };
}

export type OrphanReconciler = ReturnType<typeof createOrphanReconciler>;
