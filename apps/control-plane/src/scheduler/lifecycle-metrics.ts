import { Counter, Gauge, type Registry } from 'prom-client';
import type { OrphanAction } from './orphan-reconciler';

export type LifecycleMetrics = ReturnType<typeof createLifecycleMetrics>;

export function createLifecycleMetrics(registry: Registry) {
  const decisions = new Counter({
    name: 'streamspace_lifecycle_decisions_total',
    help: 'Lifecycle decisions taken by the scheduler, by decision.',
    labelNames: ['decision'] as const,
    registers: [registry],
  });
  const orphans = new Counter({
    name: 'streamspace_orphan_sessions_total',
    help: 'Orphan sessions reported by agents and what was done with them, by action.',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'streamspace_scheduler_leader',
    help: '1 while this process holds the scheduler lease and runs the lifecycle policy.',
    registers: [registry],
  });
  const passFailures = new Counter({
    name: 'streamspace_scheduler_pass_failures_total',
    help: 'Scheduler passes that ended with an error.',
    registers: [registry],
  });
  return {
    decision: (decision: string) => decisions.inc({ decision }),
    orphan: (action: OrphanAction) => orphans.inc({ action }),
    setLeader: (isLeader: boolean) => leader.set(isLeader ? 1 : 0),
    passFailed: () => passFailures.inc(),
  };
}
