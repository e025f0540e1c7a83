import type { Logger } from 'pino';
import type { Clock, ClockTimer, OrphanPolicy, SessionObservation } from '@streamspace/protocol';
import type { Db } from '../db/database';
import { createSystemStop } from '../sessions/session-lifecycle-stop';
import { purgeFinishedCommands } from './command-retention';
import type { CommandSink, SessionChanged } from '../sessions/session-ports';
import type { LifecycleMetrics } from './lifecycle-metrics';
import {
  createLifecyclePolicy,
  type HibernateAs,
  type LifecyclePolicyConfig,
  type PolicyReport,
} from './lifecycle-policy';
import { createOrphanReconciler, type OrphanReport } from './orphan-reconciler';
import { createSchedulerLease } from './scheduler-lease';
import { createStuckTransitions, type StuckReport } from './stuck-transitions';

/** The lease every replica competes for (a row in `leases`). */
export const SCHEDULER_LEASE_NAME = 'lifecycle-scheduler';

export interface LifecycleSchedulerConfig extends LifecyclePolicyConfig {
  /** STREAMSPACE_SCHEDULER_INTERVAL_SECONDS in ms: how often a pass runs. */
  intervalMs: number;
  /** How long the lease outlives its holder's last renewal, in ms (default 3 × interval). */
  leaseTtlMs: number;
  /** STREAMSPACE_STUCK_TRANSITION_MINUTES in ms. */
  stuckAfterMs: number;
  /** STREAMSPACE_COMMAND_DEADLINE_MS: the queue's deadline, the stuck check's backstop. */
  commandDeadlineMs: number;
  /** STREAMSPACE_ORPHAN_POLICY. */
  orphanPolicy: OrphanPolicy;
  /** STREAMSPACE_ORPHAN_GRACE_MINUTES in ms. */
  orphanGraceMs: number;
}

export interface LifecycleSchedulerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Identifies this process among replicas (config.replicaId); the lease holder's name. */
  replicaId: string;
  config: LifecycleSchedulerConfig;
  commands: CommandSink;
  changed: SessionChanged;
  /** The sessions module's moveAndSend(sessionId, 'hibernating', actor, reason). */
  hibernate: HibernateAs;
  metrics?: LifecycleMetrics;
  /** Called after every timed pass, once the next is scheduled (tests wait on it). */
  onPass?: (report: SchedulerReport) => void;
}

export interface SchedulerReport {
  /** False when another replica holds the lease: nothing else ran. */
  leader: boolean;
  policy?: PolicyReport;
  stuck?: StuckReport;
  orphans?: OrphanReport;
  /** Finished commands deleted past their retention. */
  purgedCommands?: number;
  /** Set when the pass ended with an error (it is logged and counted too). */
  error?: string;
}

export type LifecycleScheduler = ReturnType<typeof createLifecycleScheduler>;

/**
 * The control plane's lifecycle loop (issue 5; docs/lifecycle.md): every interval, the one
 * replica holding the lease runs the idle / maximum-duration policy, resolves stuck
 * transitions and handles orphans. Agents never run policy. Every decision is a session
 * event with actor `scheduler` and a reason. Safe to run on every replica at once: the
 * lease keeps it to one, and each decision is also guarded by the state machine's row lock
 * or a once-only mark, so even an expired-lease overlap cannot act twice.
 */
export function createLifecycleScheduler(deps: LifecycleSchedulerDeps) {
  const { db, clock, logger, replicaId, config, commands, changed, metrics } = deps;
  const log = logger.child({ module: 'scheduler', replicaId });
  const lease = createSchedulerLease({
    db,
    name: SCHEDULER_LEASE_NAME,
    holder: replicaId,
    ttlMs: config.leaseTtlMs,
  });
  const policy = createLifecyclePolicy({
    db,
    clock,
    logger,
    config,
    hibernate: deps.hibernate,
    stop: createSystemStop({ db, logger, commands, changed }),
    changed,
    onDecision: (decision) => metrics?.decision(decision),
  });
  const stuck = createStuckTransitions({
    db,
    clock,
    logger,
    commands,
    changed,
    stuckAfterMs: config.stuckAfterMs,
    commandDeadlineMs: config.commandDeadlineMs,
    onDecision: (decision) => metrics?.decision(`transition_${decision}`),
  });
  const orphans = createOrphanReconciler({
    db,
    clock,
    logger,
    commands,
    changed,
    policy: config.orphanPolicy,
    graceMs: config.orphanGraceMs,
    onAction: (action) => metrics?.orphan(action),
  });

  let timer: ClockTimer | undefined;
  let running = false;
  let wasLeader = false;
  let chain: Promise<unknown> = Promise.resolve();

  async function pass(): Promise<SchedulerReport> {
    const leader = await lease.tryAcquire();
    if (leader !== wasLeader) {
      log.info({ leader }, leader ? 'scheduler lease taken' : 'scheduler lease held elsewhere');
      wasLeader = leader;
      metrics?.setLeader(leader);
    }
    if (!leader) return { leader };
    // Stuck transitions before policy: a pass never hibernates a session it just failed.
    const stuckReport = await stuck.run();
    const policyReport = await policy.run();
    const orphanReport = await orphans.run();
    const purgedCommands = await purgeFinishedCommands(db, clock);
    return {
      leader,
      stuck: stuckReport,
      policy: policyReport,
      orphans: orphanReport,
      purgedCommands,
    };
  }

  /** Run one pass now (serialised with the timer's passes). */
  function runOnce(): Promise<SchedulerReport> {
    const next = chain.then(pass);
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    timer = clock.setTimeout(() => {
      timer = undefined;
      void runOnce().then(
        (report) => {
          if (running) schedule(config.intervalMs);
          deps.onPass?.(report);
        },
        (error: unknown) => {
          metrics?.passFailed();
          log.error({ err: error }, 'scheduler pass failed');
          if (running) schedule(config.intervalMs);
          deps.onPass?.({ leader: wasLeader, error: String(error) });
        },
      );
    }, delayMs);
  }

  return {
    runOnce,
    /** Start the loop; the first pass runs at once so a restart reconciles promptly. */
    start(): void {
      if (running) return;
      running = true;
      schedule(0);
    },
    /** Stop the loop, wait for a pass in progress, and hand the lease over. */
    async stop(): Promise<void> {
      running = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await chain;
      await lease.release().catch((error: unknown) => {
        log.warn({ err: error }, 'scheduler lease release failed');
      });
      metrics?.setLeader(false);
    },
    /** A hello's inventory: record orphans (any replica; handling is the leader's). */
    onInventory(agentId: string, inventory: readonly SessionObservation[]): Promise<void> {
      return orphans.observe(agentId, inventory, { complete: true });
    },
    /** A session report: a session the database does not know may show up here too. */
    onSessionReport(agentId: string, observation: SessionObservation): Promise<void> {
      return orphans.observe(agentId, [observation], { complete: false });
    },
    orphans: { list: orphans.list },
  };
}
