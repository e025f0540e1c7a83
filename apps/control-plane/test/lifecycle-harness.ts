import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { CommandPayload, SessionEvent, SessionObservation } from '@streamspace/protocol';
import { createTestDatabase, FakeClock, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { checkAgentCapacity } from '../src/agents/agent-selector';
import type { Principal } from '../src/auth/principal';
import { createDb, type Db } from '../src/db/database';
import type { AgentCommandRow } from '../src/db/schema';
import { migrateToLatest } from '../src/db/migrations';
import {
  createLifecycleScheduler,
  type LifecycleScheduler,
  type LifecycleSchedulerConfig,
  type SchedulerReport,
} from '../src/scheduler/lifecycle-scheduler';
import { createSessionAgentEvents } from '../src/sessions/session-agent-events';
import type { CommandSink } from '../src/sessions/session-ports';
import { createSessionService, type SessionService } from '../src/sessions/session-service';
import { createSessionViews } from '../src/sessions/session-view';

export const MINUTE = 60_000;

/** Scheduler settings for tests: one pass a minute, a 5-minute warning, 30-minute idle. */
export const TEST_SCHEDULER_CONFIG: LifecycleSchedulerConfig = {
  defaultIdleMinutes: 30,
  defaultMaxDurationMinutes: 12 * 60,
  warningLeadMinutes: 5,
  intervalMs: MINUTE,
  leaseTtlMs: 3 * MINUTE,
  stuckAfterMs: 5 * MINUTE,
  commandDeadlineMs: 10 * MINUTE,
  orphanPolicy: 'remove',
  orphanGraceMs: 5 * MINUTE,
};

export interface TestScheduler {
  scheduler: LifecycleScheduler;
  reports: SchedulerReport[];
}

/**
 * Real PostgreSQL with migrations, one user, one template, one agent, the lead's sessions
 * service, and schedulers on a FakeClock. The clock starts at the database's "now" so rows
 * the database stamps (events) and rows the clock stamps (activity) share one timeline.
 * Commands go to a sink that writes agent_commands rows the way the command queue does;
 * the agent's side is played by `completeCommand`, which applies an outcome through the
 * sessions module exactly as the queue does when an agent reports one.
 */
export async function createLifecycleHarness() {
  const database: TestDatabase = await createTestDatabase();
  const { db } = createDb(database.url, 6);
  await migrateToLatest(db);
  const clock = new FakeClock(Date.now());
  const logger = pino({ level: process.env.STREAMSPACE_TEST_LOG_LEVEL ?? 'silent' });
  const changedIds: string[] = [];
  const changed = (id: string) => void changedIds.push(id);

  const user = await db
    .insertInto('users')
    .values({ username: 'alice', passwordHash: 'x', role: 'user', idleTimeoutMinutes: null })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto('templates')
    .values({
      id: 'desktop',
      name: 'Linux desktop',
      description: '',
      icon: '',
      image: 'streamspace/desktop:test',
      app: JSON.stringify([]),
      windowManager: 'twm',
      resources: JSON.stringify({ cpuMillis: 500, memoryMb: 512 }),
      idleTimeoutMinutes: null,
      maxDurationMinutes: null,
      homeIsolation: 'user',
      enabled: true,
    })
    .execute();
  const agentId = randomUUID();
  await db
    .insertInto('agents')
    .values({
      id: agentId,
      name: 'docker-1',
      platform: 'docker',
      labels: JSON.stringify({}),
      capacity: JSON.stringify({ maxSessions: 50 }),
      clusterInfo: JSON.stringify({}),
      region: '',
      status: 'online',
      secretHash: 'x',
    })
    .execute();
  const principal: Principal = {
    userId: user.id,
    username: user.username,
    role: 'user',
    tokenId: randomUUID(),
  };

  const commands: CommandSink = {
    enqueue: async ({ agentId: to, sessionId, payload, deadlineMs }, trx) =>
      (trx ?? db)
        .insertInto('agentCommands')
        .values({
          agentId: to,
          sessionId,
          type: payload.type,
          payload: JSON.stringify(payload),
          state: 'pending',
          nextAttemptAt: new Date(clock.now()),
          deadline: new Date(clock.now() + (deadlineMs ?? TEST_SCHEDULER_CONFIG.commandDeadlineMs)),
          createdAt: new Date(clock.now()),
          updatedAt: new Date(clock.now()),
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
  };
  const views = createSessionViews({
    db,
    viewerCount: () => 0,
    defaultIdleMinutes: TEST_SCHEDULER_CONFIG.defaultIdleMinutes,
    defaultMaxDurationMinutes: TEST_SCHEDULER_CONFIG.defaultMaxDurationMinutes,
  });
  const sessions: SessionService = createSessionService({
    db,
    clock,
    logger,
    views,
    commands,
    pickAgent: async () => ({ id: agentId, name: 'docker-1', platform: 'docker' }),
    checkCapacity: (agentId, trx) => checkAgentCapacity(trx, agentId),
    changed,
  });
  const agentEvents = createSessionAgentEvents({ db, logger, changed, commands });
  const schedulers: LifecycleScheduler[] = [];

  function newScheduler(
    overrides: Partial<LifecycleSchedulerConfig> = {},
    replicaId = `replica-${schedulers.length + 1}`,
  ): TestScheduler {
    const reports: SchedulerReport[] = [];
    const scheduler = createLifecycleScheduler({
      db,
      clock,
      logger,
      replicaId,
      config: { ...TEST_SCHEDULER_CONFIG, ...overrides },
      commands,
      changed,
      hibernate: (sessionId, actor, reason) =>
        sessions.moveAndSend(sessionId, 'hibernating', actor, reason),
      onPass: (report) => void reports.push(report),
    });
    schedulers.push(scheduler);
    return { scheduler, reports };
  }

  async function commandsFor(sessionId: string): Promise<AgentCommandRow[]> {
    return db
      .selectFrom('agentCommands')
      .selectAll()
      .where('sessionId', '=', sessionId)
      .orderBy('createdAt')
      .orderBy('id')
      .execute();
  }

  /** Play the agent: mark the command finished and apply its outcome to the session. */
  async function completeCommand(
    command: AgentCommandRow,
    observation?: SessionObservation,
  ): Promise<void> {
    await db
      .updateTable('agentCommands')
      .set({
        state: 'completed',
        finishedAt: new Date(clock.now()),
        updatedAt: new Date(clock.now()),
      })
      .where('id', '=', command.id)
      .execute();
    await agentEvents.onCommandFinished(
      { sessionId: command.sessionId, payload: command.payload as CommandPayload },
      { kind: 'completed', outcome: { ok: true, ...(observation ? { observation } : {}) } },
      'agent:docker-1',
    );
  }

  async function ackCommand(command: AgentCommandRow): Promise<void> {
    await db
      .updateTable('agentCommands')
      .set({ state: 'acked', ackedAt: new Date(clock.now()), updatedAt: new Date(clock.now()) })
      .where('id', '=', command.id)
      .execute();
  }

  /**
   * A running session created through the sessions service, its start completed by the
   * "agent"; created and last active at the clock's now.
   */
  async function runningSession(
    template: { idleTimeoutMinutes?: number; maxDurationMinutes?: number } = {},
  ): Promise<string> {
    const session = await sessions.create(principal, { templateId: 'desktop', platform: 'auto' });
    const [start] = await commandsFor(session.id);
    if (start === undefined) throw new Error('no start command');
    await completeCommand(start, { sessionId: session.id, status: 'running', details: {} });
    await db
      .updateTable('sessions')
      .set({
        createdAt: new Date(clock.now()),
        lastActivityAt: new Date(clock.now()),
        idleTimeoutMinutes: template.idleTimeoutMinutes ?? null,
        maxDurationMinutes: template.maxDurationMinutes ?? null,
      })
      .where('id', '=', session.id)
      .execute();
    return session.id;
  }

  async function stateOf(sessionId: string) {
    return db
      .selectFrom('sessions')
      .select(['state', 'stateReason'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
  }

  async function eventsOf(sessionId: string): Promise<SessionEvent[]> {
    return sessions.events(principal, sessionId);
  }

  /**
   * Advance the fake clock one interval at a time, waiting after each step until every
   * started scheduler finished the pass that step triggered.
   */
  async function advance(ms: number, running: TestScheduler[], stepMs = MINUTE): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      const before = running.map((s) => s.reports.length);
      clock.advance(Math.min(stepMs, ms - done));
      await waitFor('scheduler passes', () =>
        running.every((s, i) => s.reports.length > (before[i] ?? 0)),
      );
    }
  }

  /** Start schedulers and wait for their first pass (it runs at once). */
  async function start(running: TestScheduler[]): Promise<void> {
    for (const s of running) s.scheduler.start();
    const before = running.map((s) => s.reports.length);
    clock.advance(0);
    await waitFor('first scheduler passes', () =>
      running.every((s, i) => s.reports.length > (before[i] ?? 0)),
    );
  }

  return {
    db: db as Db,
    start,
    clock,
    logger,
    agentId,
    principal,
    commands,
    sessions,
    agentEvents,
    changedIds,
    newScheduler,
    commandsFor,
    completeCommand,
    ackCommand,
    runningSession,
    stateOf,
    eventsOf,
    advance,
    async close(): Promise<void> {
      for (const scheduler of schedulers) await scheduler.stop();
      await db.destroy();
      await database.drop();
    },
  };
}

export type LifecycleHarness = Awaited<ReturnType<typeof createLifecycleHarness>>;
