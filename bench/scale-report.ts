// The markdown report of bench/control-plane-scale.ts.
import type { DispatchResult } from './scale-dispatch';
import type { Percentiles } from './scale-support';

type Timed = Percentiles & { bytes: number };

export interface ApiTimings {
  health: Timed;
  sessionById: Timed;
  sessionsOwn: Timed;
  sessionsAll: Timed;
  sessionsAllDeep: Timed;
  agents: Timed;
  agentsEveryPage: Timed;
  platforms: Timed;
}

interface Window {
  cpPct: number;
  pgPct: number;
  genPct?: number;
  cpRss?: number;
  seconds?: number;
}

export interface ScaleResults {
  date: string;
  node: string;
  cores: number;
  loadBefore: number[];
  loadAfter: number[];
  quick: boolean;
  agents: number;
  heartbeatMs: number;
  generators: number;
  registration: { perSecond: number };
  seed: { users: number; sessions: number; byState: Record<string, number>; ms: number };
  idle: Window;
  connect: Window & { ms: number; welcomed: number; failed: number };
  loaded: Window;
  heartbeats: {
    sentPerSecond: number;
    handledPerSecond: number;
    freshAgents: number;
    onlineAgents: number;
  };
  apiBaseline: ApiTimings;
  apiLoaded: ApiTimings;
  apiWindow: Window;
  dispatchSerial: Window & DispatchResult;
  dispatch: Window & DispatchResult;
  linksDropped: number;
  closeCodes: Record<string, number>;
  protocolErrors: number;
}

const f = (n: number | undefined, digits = 1) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
const pcts = (p: Percentiles) => `${f(p.p50)} / ${f(p.p95)} / ${f(p.p99)} / ${f(p.max)}`;

const API_ROWS: [keyof ApiTimings, string][] = [
  ['health', 'GET /api/v1/health (trivial route)'],
  ['sessionById', 'GET /api/v1/sessions/:id'],
  ['sessionsOwn', "GET /api/v1/sessions (admin's own, first page of 100)"],
  ['sessionsAll', 'GET /api/v1/sessions?scope=all (first page of 100)'],
  ['sessionsAllDeep', 'GET /api/v1/sessions?scope=all, a page half-way (cursor)'],
  ['agents', 'GET /api/v1/agents (first page of 100)'],
  ['agentsEveryPage', 'GET /api/v1/agents?limit=500, every page in turn'],
  ['platforms', 'GET /api/v1/platforms (the catalog: online agents and free slots)'],
];

export function formatReport(r: ScaleResults): string {
  const d = r.dispatch;
  const lines = [
    `${r.date} — node ${r.node}, ${r.cores} cores, load average ${r.loadBefore.map((v) => f(v)).join(' ')} before, ` +
      `${r.loadAfter.map((v) => f(v)).join(' ')} after; ${r.quick ? 'quick' : 'full'} run`,
    '',
    `${r.agents} agents (${r.generators} load-generator process${r.generators > 1 ? 'es' : ''}), ` +
      `heartbeat every ${r.heartbeatMs} ms; ${r.seed.sessions} sessions for ${r.seed.users} users ` +
      `(${Object.entries(r.seed.byState)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ')}) seeded in ${f(r.seed.ms / 1000)} s; ` +
      `agents registered through the API at ${f(r.registration.perSecond, 0)}/s.`,
    '',
    '| phase | control plane CPU % | PostgreSQL CPU % | load generators CPU % | control plane RSS MiB |',
    '|---|---|---|---|---|',
    `| idle, no agent | ${f(r.idle.cpPct)} | ${f(r.idle.pgPct)} | — | ${f(r.idle.cpRss, 0)} |`,
    `| ${r.agents} agents connecting | ${f(r.connect.cpPct)} | ${f(r.connect.pgPct)} | ${f(r.connect.genPct)} | ${f(r.connect.cpRss, 0)} |`,
    `| ${r.agents} agents heartbeating | ${f(r.loaded.cpPct)} | ${f(r.loaded.pgPct)} | ${f(r.loaded.genPct)} | ${f(r.loaded.cpRss, 0)} |`,
    `| + API calls (sequential) | ${f(r.apiWindow.cpPct)} | ${f(r.apiWindow.pgPct)} | ${f(r.apiWindow.genPct)} | ${f(r.apiWindow.cpRss, 0)} |`,
    `| + session creation, 1 at a time (${r.dispatchSerial.posted}) | ${f(r.dispatchSerial.cpPct)} | ${f(r.dispatchSerial.pgPct)} | ${f(r.dispatchSerial.genPct)} | ${f(r.dispatchSerial.cpRss, 0)} |`,
    `| + session creation, ${d.inFlight} at a time (${d.posted}) | ${f(d.cpPct)} | ${f(d.pgPct)} | ${f(d.genPct)} | ${f(d.cpRss, 0)} |`,
    '',
    `- all ${r.connect.welcomed} of ${r.agents} agents connected (hello → welcome) in ${f(r.connect.ms / 1000, 2)} s` +
      (r.connect.failed > 0 ? `, ${r.connect.failed} failed` : ''),
    `- heartbeats: ${f(r.heartbeats.sentPerSecond, 0)}/s sent, ${f(r.heartbeats.handledPerSecond, 0)}/s handled by the control plane; ` +
      `${r.heartbeats.freshAgents} agents with a heartbeat in the database younger than 3 intervals, ${r.heartbeats.onlineAgents} online`,
    `- agent links the control plane closed during the run: ${r.linksDropped}` +
      (r.linksDropped > 0
        ? ` (close codes: ${Object.entries(r.closeCodes)
            .map(([code, n]) => `${code} ×${n}`)
            .join(', ')})`
        : '') +
      `; protocol errors: ${r.protocolErrors}`,
    '',
    'API latency, ms, sequential calls (p50 / p95 / p99 / max):',
    '',
    '| call | no agent connected | under heartbeat load | × | response KiB |',
    '|---|---|---|---|---|',
    ...API_ROWS.map(
      ([key, label]) =>
        `| ${label} | ${pcts(r.apiBaseline[key])} | ${pcts(r.apiLoaded[key])} | ` +
        `${f(r.apiLoaded[key].p95 / r.apiBaseline[key].p95, 2)} (p95) | ${f(r.apiLoaded[key].bytes / 1024)} |`,
    ),
    '',
    ...dispatchTable(r.dispatchSerial),
    '',
    ...dispatchTable(d),
  ];
  return lines.join('\n');
}

function dispatchTable(d: DispatchResult): string[] {
  return [
    `Command dispatch under heartbeat load, ${d.inFlight} request${d.inFlight > 1 ? 's' : ''} in flight: ` +
      `${d.posted} sessions created at ${f(d.perSecond)}/s; ${d.received} start_session commands reached their agent.`,
    '',
    '| interval | p50 / p95 / p99 / max ms |',
    '|---|---|',
    `| POST /api/v1/sessions → response | ${pcts(d.restResponse)} |`,
    `| POST /api/v1/sessions → the agent receives start_session | ${pcts(d.restToAgent)} |`,
    `| enqueue → sent (NOTIFY → claim → socket write) | ${pcts(d.enqueueToSent)} |`,
    `| enqueue → ack recorded | ${pcts(d.enqueueToAcked)} |`,
    `| enqueue → result recorded | ${pcts(d.enqueueToResult)} |`,
    `| enqueue → session running | ${pcts(d.enqueueToRunning)} |`,
  ];
}
