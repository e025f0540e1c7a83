// Control-plane scale benchmark (TARGETS.md, "Control plane scale"): the real control plane in
// its own process on an embedded PostgreSQL, thousands of protocol agents heartbeating from one
// or two load-generator processes, tens of thousands of sessions in the database; command
// dispatch and API latency under that load, against a baseline measured in the same run (the
// same calls before any agent connects, and a trivial route). Loopback only; every phase is
// bounded in count and time, and the run stops by itself.
//
//   npx tsx bench/control-plane-scale.ts [--agents 2000] [--sessions 30000] [--quick]
//     [--heartbeat-ms 1000] [--commands 500] [--out results.json]
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '@streamspace/test-kit';
import { spawnTs, stopChild } from './paths';
import { cpuSeconds, rssMiB } from './proc-stats';
import { measureDispatch, type DispatchResult } from './scale-dispatch';
import { registerAgents, seedSessions } from './scale-seed';
import { formatReport, type ApiTimings, type ScaleResults } from './scale-report';
import {
  apiClient,
  metricValue,
  postgresPids,
  sleep,
  timeCalls,
  type ScaleAgentStats,
} from './scale-support';

const { values } = parseArgs({
  options: {
    agents: { type: 'string' },
    sessions: { type: 'string' },
    commands: { type: 'string' },
    'heartbeat-ms': { type: 'string', default: '1000' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const quick = values.quick === true;
const AGENTS = Number(values.agents ?? (quick ? 200 : 2000));
const SESSIONS = Number(values.sessions ?? (quick ? 5_000 : 30_000));
const COMMANDS = Number(values.commands ?? (quick ? 100 : 500));
const HEARTBEAT_MS = Number(values['heartbeat-ms']);
const API_CALLS = quick ? 50 : 200;
const WINDOW_MS = quick ? 5_000 : 10_000;
/** Session creations in flight at once during the dispatch phase. */
const DISPATCH_IN_FLIGHT = 4;
const log = (what: string) => console.error(`[scale] ${what}`);

const started = new Date();
const loadBefore = loadavg();
const postgres = await startEmbeddedPostgres();
// Read by bench/cp-process.ts: a short interval keeps the run bounded and the load high.
process.env.STREAMSPACE_HEARTBEAT_INTERVAL_MS = String(HEARTBEAT_MS);
process.env.STREAMSPACE_HEARTBEAT_TIMEOUT_MS = String(HEARTBEAT_MS * 5);
const adminPassword = `bench-${randomUUID()}`;
const cp = await spawnTs<{ url: string }>('bench/cp-process.ts', [postgres.url, adminPassword]);
const base = cp.first.url;
const cpPid = cp.child.pid!;
const pgPids = () => postgresPids(process.pid);
const loadgens: Awaited<ReturnType<typeof spawnTs<{ port: number }>>>[] = [];

/** CPU % of one core used by a set of processes over a window, and their RSS at its end. */
async function sampleWindow(ms: number, during?: () => Promise<void>) {
  const pids = { cp: [cpPid], pg: pgPids(), gen: loadgens.map((g) => g.child.pid!) };
  const before = { cp: cpuSeconds(pids.cp), pg: cpuSeconds(pids.pg), gen: cpuSeconds(pids.gen) };
  const t0 = performance.now();
  await Promise.all([sleep(ms), during?.()]);
  const seconds = (performance.now() - t0) / 1000;
  const pct = (key: 'cp' | 'pg' | 'gen') => ((cpuSeconds(pids[key]) - before[key]) / seconds) * 100;
  return {
    cpPct: pct('cp'),
    pgPct: pct('pg'),
    genPct: pct('gen'),
    cpRss: rssMiB(cpPid),
    seconds,
  };
}

try {
  const anonymous = apiClient(base);
  const { token } = await anonymous<{ token: string }>('POST', '/api/v1/auth/login', {
    username: 'admin',
    password: adminPassword,
  });
  const api = apiClient(base, token);
  const templateId: string = (await api('GET', '/api/v1/templates')).items[0].id;

  log(`registering ${AGENTS} agents`);
  const registration = await registerAgents(api, AGENTS);
  log(`seeding ${SESSIONS} sessions`);
  const seed = await seedSessions(postgres.url, registration.agents, {
    count: SESSIONS,
    userCount: quick ? 100 : 1_000,
  });
  const agentsFile = join(tmpdir(), `streamspace-scale-agents-${randomUUID()}.json`);
  await writeFile(agentsFile, JSON.stringify(registration.agents));

  /** Every item of a paginated list, following nextCursor (docs/api.md "Pagination"). */
  const walkPages = async (path: string): Promise<unknown[]> => {
    const items: unknown[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: { items: unknown[]; nextCursor: string | null } = await api(
        'GET',
        `${path}${query}`,
      );
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  };
  // A cursor half-way through every user's sessions: a keyset page there should cost what
  // the first page costs (no OFFSET to skip).
  let deepCursor: string | null = null;
  for (let read = 0; read < SESSIONS / 2; read += 500) {
    const query: string = deepCursor === null ? '' : `&cursor=${encodeURIComponent(deepCursor)}`;
    const page: { nextCursor: string | null } = await api(
      'GET',
      `/api/v1/sessions?scope=all&limit=500${query}`,
    );
    deepCursor = page.nextCursor;
    if (deepCursor === null) break;
  }
  const deepQuery = deepCursor === null ? '' : `&cursor=${encodeURIComponent(deepCursor)}`;

  const apiSet = async (): Promise<ApiTimings> => {
    const opts = { count: API_CALLS };
    const lists = { count: Math.ceil(API_CALLS / 2) };
    const walks = { count: Math.ceil(API_CALLS / 10) };
    return {
      health: await timeCalls(() => anonymous('GET', '/api/v1/health'), opts),
      sessionById: await timeCalls(
        () => api('GET', `/api/v1/sessions/${seed.sampleSessionId}`),
        opts,
      ),
      sessionsOwn: await timeCalls(() => api('GET', '/api/v1/sessions'), lists),
      sessionsAll: await timeCalls(() => api('GET', '/api/v1/sessions?scope=all'), lists),
      sessionsAllDeep: await timeCalls(
        () => api('GET', `/api/v1/sessions?scope=all${deepQuery}`),
        lists,
      ),
      agents: await timeCalls(() => api('GET', '/api/v1/agents'), lists),
      agentsEveryPage: await timeCalls(() => walkPages('/api/v1/agents?limit=500'), walks),
      platforms: await timeCalls(() => api('GET', '/api/v1/platforms'), lists),
    };
  };

  log('idle: no agent connected');
  await sleep(2_000);
  const idle = await sampleWindow(WINDOW_MS);
  log('baseline API latency (no agent connected)');
  const apiBaseline = await apiSet();

  const generators = AGENTS >= 1_000 ? 2 : 1;
  for (let g = 0; g < generators; g++) {
    const first = Math.floor((AGENTS * g) / generators);
    const count = Math.floor((AGENTS * (g + 1)) / generators) - first;
    loadgens.push(
      await spawnTs('bench/scale-agents.ts', [base, agentsFile, String(first), String(count)]),
    );
  }
  const genCall = apiClient('');
  const gen = (g: (typeof loadgens)[number], path: string, method = 'GET') =>
    genCall<any>(method, `http://127.0.0.1:${g.first.port}${path}`);
  const genStats = async () => {
    const all = (await Promise.all(loadgens.map((g) => gen(g, '/stats')))) as ScaleAgentStats[];
    const sum = (key: 'welcomed' | 'closed' | 'errors' | 'heartbeatsSent' | 'commandsReceived') =>
      all.reduce((total, s) => total + s[key], 0);
    return {
      welcomed: sum('welcomed'),
      closed: sum('closed'),
      errors: sum('errors'),
      heartbeatsSent: sum('heartbeatsSent'),
      commandsReceived: sum('commandsReceived'),
      closeCodes: all.reduce<Record<string, number>>((codes, s) => {
        for (const [code, n] of Object.entries(s.closeCodes)) codes[code] = (codes[code] ?? 0) + n;
        return codes;
      }, {}),
      commands: all.flatMap((s) => s.commands),
    };
  };

  log(`connecting ${AGENTS} agents`);
  const connectStarted = performance.now();
  let connected: { ms: number; welcomed: number; failed: number }[] = [];
  const connectWindow = await sampleWindow(0, async () => {
    connected = await Promise.all(loadgens.map((g) => gen(g, '/connect', 'POST')));
  });
  const connect = {
    ...connectWindow,
    ms: performance.now() - connectStarted,
    welcomed: connected.reduce((n, c) => n + c.welcomed, 0),
    failed: connected.reduce((n, c) => n + c.failed, 0),
  };
  log(`connected ${connect.welcomed} in ${connect.ms.toFixed(0)} ms`);

  // Let every agent's first heartbeat (random phase within one interval) go out.
  await sleep(HEARTBEAT_MS * 2 + 1_000);
  log('heartbeat load');
  const metrics = async () => (await api<string>('GET', '/metrics')) as string;
  const heartbeatSample = (text: string) =>
    metricValue(text, 'streamspace_agent_messages_total', ['type="heartbeat"', 'outcome="ok"']);
  const hbBefore = heartbeatSample(await metrics());
  const sentBefore = (await genStats()).heartbeatsSent;
  const loaded = await sampleWindow(WINDOW_MS);
  const hbAfter = heartbeatSample(await metrics());
  const statsAfter = await genStats();
  const heartbeats = {
    sentPerSecond: (statsAfter.heartbeatsSent - sentBefore) / loaded.seconds,
    handledPerSecond: (hbAfter - hbBefore) / loaded.seconds,
    freshAgents: 0,
    onlineAgents: 0,
  };
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  const fresh = await db.query<{ fresh: string; online: string }>(
    `SELECT count(*) FILTER (WHERE last_heartbeat_at > now() - $1 * interval '1 millisecond') AS fresh,
            count(*) FILTER (WHERE status = 'online') AS online FROM agents`,
    [HEARTBEAT_MS * 3],
  );
  heartbeats.freshAgents = Number(fresh.rows[0]?.fresh);
  heartbeats.onlineAgents = Number(fresh.rows[0]?.online);

  log('API latency under heartbeat load');
  let apiLoaded: ApiTimings | undefined;
  const apiWindow = await sampleWindow(0, async () => {
    apiLoaded = await apiSet();
  });

  const dispatchRun = async (count: number, inFlight: number) => {
    log(`dispatch: ${count} sessions created, ${inFlight} at a time`);
    let result: DispatchResult | undefined;
    const window = await sampleWindow(0, async () => {
      result = await measureDispatch({
        api,
        db,
        templateId,
        count,
        inFlight,
        receivedSince: async () => (await genStats()).commands,
      });
    });
    return { ...window, ...result! };
  };
  const dispatchSerial = await dispatchRun(Math.ceil(COMMANDS / 5), 1);
  const dispatch = await dispatchRun(COMMANDS, DISPATCH_IN_FLIGHT);
  const final = await genStats();
  await db.end();

  const results: ScaleResults = {
    date: started.toISOString(),
    node: process.version,
    cores: cpus().length,
    loadBefore,
    loadAfter: loadavg(),
    quick,
    agents: AGENTS,
    heartbeatMs: HEARTBEAT_MS,
    generators,
    registration: { perSecond: registration.perSecond },
    seed,
    idle,
    connect,
    loaded,
    heartbeats,
    apiBaseline,
    apiLoaded: apiLoaded!,
    apiWindow,
    dispatchSerial,
    dispatch,
    linksDropped: final.closed,
    closeCodes: final.closeCodes,
    protocolErrors: final.errors,
  };
  if (values.out !== undefined) await writeFile(values.out, JSON.stringify(results, null, 2));
  console.log(formatReport(results));
} finally {
  for (const g of loadgens) await stopChild(g.child);
  await stopChild(cp.child);
  await postgres.stop();
}
process.exit(0);
