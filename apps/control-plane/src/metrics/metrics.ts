import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The process's Prometheus registry. Modules get the instruments they update; gauges that
 * mirror the database are filled by collectors registered at wiring time.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'streamspace_process_' });
  const httpDuration = new Histogram({
    name: 'streamspace_http_request_duration_seconds',
    help: 'REST request latency by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const connectedAgents = new Gauge({
    name: 'streamspace_connected_agents',
    help: 'Agents whose WebSocket this process holds, by platform.',
    labelNames: ['platform'] as const,
    registers: [registry],
  });
  const agentMessages = new Counter({
    name: 'streamspace_agent_messages_total',
    help: 'Control messages received from agents, by type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, httpDuration, connectedAgents, agentMessages };
}

// How long a collected gauge reuses its last reading: scrapes closer together than this cost
// no database queries.
const COLLECTED_GAUGE_TTL_MS = 10_000;

/**
 * A gauge whose values are read when Prometheus scrapes (e.g. counts from PostgreSQL), at most
 * once every 10 s.
 */
export function registerCollectedGauge(
  metrics: Metrics,
  name: string,
  help: string,
  label: string,
  read: () => Promise<Record<string, number>>,
): void {
  let last: { at: number; values: Record<string, number> } | undefined;
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [metrics.registry],
    async collect() {
      if (last === undefined || Date.now() - last.at >= COLLECTED_GAUGE_TTL_MS) {
        last = { at: Date.now(), values: await read() };
      }
      this.reset();
      for (const [value, count] of Object.entries(last.values)) this.set({ [label]: value }, count);
    },
  });
}
