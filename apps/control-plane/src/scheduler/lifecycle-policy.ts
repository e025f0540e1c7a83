import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '@streamspace/protocol';
import type { Db } from '../db/database';
import { ApiError } from '../http/api-error';
import type { SessionChanged } from '../sessions/session-ports';
import type { SystemStop } from '../sessions/session-lifecycle-stop';
import { recordSessionEvent } from '../sessions/session-transitions';
import { claimMark, lifecycleTrx } from './lifecycle-tables';
import {
  idleHibernationReason,
  idleWarningReason,
  maxDurationStopReason,
  maxDurationWarningReason,
  type ViewerFacts,
} from './lifecycle-wording';

/** The actor lifecycle decisions are recorded under (SessionEvent.actor). */
export const SCHEDULER_ACTOR = 'scheduler';

const MINUTE_MS = 60_000;

export interface LifecyclePolicyConfig {
  /** STREAMSPACE_DEFAULT_IDLE_MINUTES: used when neither template nor user sets one. */
  defaultIdleMinutes: number;
  /** STREAMSPACE_DEFAULT_MAX_DURATION_MINUTES: used when the template sets none. */
  defaultMaxDurationMinutes: number;
  /** STREAMSPACE_IDLE_WARNING_MINUTES: how long before hibernation or stop the user is warned. */
  warningLeadMinutes: number;
}

export interface PolicyReport {
  idleWarned: string[];
  hibernated: string[];
  maxWarned: string[];
  stopped: string[];
}

export type HibernateAs = (sessionId: string, actor: string, reason: string) => Promise<void>;

/**
 * One pass of the idle and maximum-duration policy (issue 5 item 2). Idle is measured from
 * sessions.last_activity_at, which viewer input and the keepalive endpoint stamp; the timeout
 * is the template's, else the user's, else the default (the same rule session-view.ts uses
 * for hibernateAt, so the countdown the UI shows is the moment this pass acts).
 */
export function createLifecyclePolicy({
  db,
  clock,
  logger,
  config,
  hibernate,
  stop,
  changed,
  onDecision,
}: {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: LifecyclePolicyConfig;
  hibernate: HibernateAs;
  stop: SystemStop;
  changed: SessionChanged;
  onDecision?: (decision: keyof PolicyReport) => void;
}) {
  const log = logger.child({ module: 'lifecycle-policy' });
  const leadMs = config.warningLeadMinutes * MINUTE_MS;
  const idleMinutesSql = sql<number>`COALESCE(sessions.idle_timeout_minutes, users.idle_timeout_minutes, ${config.defaultIdleMinutes}::int)`;
  const maxMinutesSql = sql<number>`COALESCE(sessions.max_duration_minutes, users.max_duration_minutes, ${config.defaultMaxDurationMinutes}::int)`;

  async function viewerFacts(sessionId: string): Promise<ViewerFacts> {
    const rows = await db
      .selectFrom('sessionEvents')
      .select([
        'kind',
        (eb) => eb.fn.countAll<string>().as('count'),
        (eb) => eb.fn.max('at').as('last'),
      ])
      .where('sessionId', '=', sessionId)
      .where('kind', 'in', ['viewer_connected', 'viewer_disconnected'])
      .groupBy('kind')
      .execute();
    const connected = rows.find((row) => row.kind === 'viewer_connected');
    const disconnected = rows.find((row) => row.kind === 'viewer_disconnected');
    return {
      connected: Math.max(0, Number(connected?.count ?? 0) - Number(disconnected?.count ?? 0)),
      lastDisconnectedAt: disconnected ? new Date(disconnected.last).getTime() : undefined,
    };
  }

  async function warn(
    sessionId: string,
    kind: 'idle_warning' | 'max_warning',
    key: string,
    reason: string,
  ): Promise<boolean> {
    const recorded = await db.transaction().execute(async (trx) => {
      if (
        !(await claimMark(lifecycleTrx(trx), { sessionId, kind, key, at: new Date(clock.now()) }))
      )
        return false;
      await recordSessionEvent(trx, { sessionId, kind: 'warning', actor: SCHEDULER_ACTOR, reason });
      return true;
    });
    if (recorded) {
      log.info({ sessionId, kind }, 'lifecycle warning recorded');
      changed(sessionId);
    }
    return recorded;
  }

  async function maxDurationPass(now: number, report: PolicyReport): Promise<void> {
    const rows = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.userId')
      .leftJoin('agents', 'agents.id', 'sessions.agentId')
      .select(['sessions.id', 'sessions.createdAt', maxMinutesSql.as('maxMinutes')])
      .where('sessions.state', 'in', [
        'pending',
        'starting',
        'running',
        'hibernating',
        'hibernated',
        'waking',
      ])
      // A stop for an agent that is offline would wait out its deadline and fail the session;
      // sessions holding no compute can be stopped at once whatever their agent's state.
      .where((eb) =>
        eb.or([
          eb('sessions.state', 'in', ['pending', 'hibernated']),
          eb('agents.status', '=', 'online'),
        ]),
      )
      .where(
        sql<Date>`sessions.created_at + ${maxMinutesSql} * interval '1 minute' - ${leadMs}::double precision * interval '1 millisecond'`,
        '<=',
        new Date(now),
      )
      .execute();
    for (const row of rows) {
      const facts = { now, createdAt: row.createdAt.getTime(), maxMinutes: Number(row.maxMinutes) };
      const stopAt = facts.createdAt + facts.maxMinutes * MINUTE_MS;
      if (now < stopAt) {
        if (await warn(row.id, 'max_warning', String(stopAt), maxDurationWarningReason(facts))) {
          report.maxWarned.push(row.id);
          onDecision?.('maxWarned');
        }
        continue;
      }
      const result = await stop(row.id, SCHEDULER_ACTOR, maxDurationStopReason(facts));
      if (result !== 'unchanged') {
        log.info(
          { sessionId: row.id, maxMinutes: facts.maxMinutes },
          'session stopped at its maximum duration',
        );
        report.stopped.push(row.id);
        onDecision?.('stopped');
      }
    }
  }

  async function idlePass(now: number, report: PolicyReport): Promise<void> {
    const rows = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.userId')
      .innerJoin('agents', 'agents.id', 'sessions.agentId')
      .select(['sessions.id', idleMinutesSql.as('idleMinutes')])
      .where('sessions.state', '=', 'running')
      // Nobody can use a session while its agent is offline: that is not idleness, and a
      // hibernate queued for it would only expire and fail the session. The agent's hello
      // reconciles it when it returns; the idle clock goes on from the last real input.
      .where('agents.status', '=', 'online')
      .where(
        sql<Date>`sessions.last_activity_at + ${idleMinutesSql} * interval '1 minute' - ${leadMs}::double precision * interval '1 millisecond'`,
        '<=',
        new Date(now),
      )
      .execute();
    for (const { id, idleMinutes } of rows) {
      // Re-read just before deciding: input may have arrived since the candidate query.
      const fresh = await db
        .selectFrom('sessions')
        .select(['state', 'lastActivityAt', 'createdAt'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (fresh === undefined || fresh.state !== 'running') continue;
      const facts = {
        now,
        lastActivityAt: fresh.lastActivityAt.getTime(),
        createdAt: fresh.createdAt.getTime(),
        idleMinutes: Number(idleMinutes),
        viewers: await viewerFacts(id),
      };
      const hibernateAt = facts.lastActivityAt + facts.idleMinutes * MINUTE_MS;
      if (now < hibernateAt) {
        if (now >= hibernateAt - leadMs) {
          // One warning per activity period: new input starts a new period and a new warning.
          const key = String(facts.lastActivityAt);
          if (await warn(id, 'idle_warning', key, idleWarningReason(facts))) {
            report.idleWarned.push(id);
            onDecision?.('idleWarned');
          }
        }
        continue;
      }
      try {
        await hibernate(id, SCHEDULER_ACTOR, idleHibernationReason(facts));
      } catch (error) {
        // Another replica or a user moved it first: the state machine refused a second move.
        if (error instanceof ApiError) {
          log.debug({ sessionId: id, code: error.code }, 'idle hibernation skipped');
          continue;
        }
        throw error;
      }
      log.info({ sessionId: id, idleMinutes: facts.idleMinutes }, 'idle session hibernated');
      report.hibernated.push(id);
      onDecision?.('hibernated');
    }
  }

  return {
    async run(): Promise<PolicyReport> {
      const report: PolicyReport = { idleWarned: [], hibernated: [], maxWarned: [], stopped: [] };
      const now = clock.now();
      // Maximum duration first: a session past it is stopped, not hibernated.
      await maxDurationPass(now, report);
      await idlePass(now, report);
      return report;
    },
  };
}
