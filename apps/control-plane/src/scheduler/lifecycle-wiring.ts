import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock, HelloMessage, SessionObservation } from '@streamspace/protocol';
import type { RequestAuth } from '../auth/request-auth';
import type { Config } from '../config';
import type { Db } from '../db/database';
import type { Metrics } from '../metrics/metrics';
import type { CommandSink, SessionChanged } from '../sessions/session-ports';
import { createLifecycleMetrics } from './lifecycle-metrics';
import type { HibernateAs } from './lifecycle-policy';
import {
  createLifecycleScheduler,
  type LifecycleScheduler,
  type LifecycleSchedulerConfig,
} from './lifecycle-scheduler';
import { registerOrphanRoutes } from './orphan-routes';

/** The scheduler's settings from the control plane's configuration (docs/lifecycle.md). */
function lifecycleSchedulerConfig(config: Config): LifecycleSchedulerConfig {
  return {
    defaultIdleMinutes: config.defaultIdleMinutes,
    defaultMaxDurationMinutes: config.defaultMaxDurationMinutes,
    warningLeadMinutes: config.idleWarningMinutes,
    intervalMs: config.schedulerIntervalMs,
    // Three missed renewals before another replica takes over.
    leaseTtlMs: 3 * config.schedulerIntervalMs,
    stuckAfterMs: config.stuckTransitionMs,
    commandDeadlineMs: config.commandDeadlineMs,
    orphanPolicy: config.orphanPolicy,
    orphanGraceMs: config.orphanGraceMs,
  };
}

/**
 * Everything app.ts needs to run the lifecycle scheduler: builds it, feeds it the agents'
 * hello inventories and session reports, and serves GET /api/v1/orphans. The caller starts
 * it after listening and stops it before closing the database.
 */
export function wireLifecycleScheduler(
  http: FastifyInstance,
  deps: {
    db: Db;
    clock: Clock;
    logger: Logger;
    config: Config;
    metrics: Metrics;
    guard: RequestAuth;
    commands: CommandSink;
    changed: SessionChanged;
    /** sessions.moveAndSend bound to 'hibernating'. */
    hibernate: HibernateAs;
    hub: {
      onAgentHello(listener: (agentId: string, hello: HelloMessage) => unknown): () => void;
      onSessionReport(
        listener: (agentId: string, observation: SessionObservation) => unknown,
      ): () => void;
    };
  },
): LifecycleScheduler {
  const scheduler = createLifecycleScheduler({
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    replicaId: deps.config.replicaId,
    config: lifecycleSchedulerConfig(deps.config),
    commands: deps.commands,
    changed: deps.changed,
    hibernate: deps.hibernate,
    metrics: createLifecycleMetrics(deps.metrics.registry),
  });
  deps.hub.onAgentHello((agentId, hello) => scheduler.onInventory(agentId, hello.inventory));
  deps.hub.onSessionReport((agentId, observation) =>
    scheduler.onSessionReport(agentId, observation),
  );
  registerOrphanRoutes(http, { orphans: scheduler.orphans, guard: deps.guard });
  return scheduler;
}
