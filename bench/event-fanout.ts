// Many browsers on the event stream (/api/v1/events): how long a session change takes to reach
// every open stream, and what it costs the control plane and PostgreSQL. Loopback only.
// Usage: npx tsx bench/event-fanout.ts [--streams 500] [--changes-per-second 50] [--seconds 10]
// Changes are made by NOTIFY on the change channel with ids of real session rows, exactly what
// a state change publishes; every stream is an admin's, so every stream receives every change.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '@streamspace/test-kit';
import { CHANGE_CHANNEL } from '../apps/control-plane/src/events/change-feed';
import { spawnTs, stopChild } from './paths';
import { cpuSeconds } from './proc-stats';
import { apiClient, percentiles, postgresPids, sleep, wallClockMs } from './scale-support';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '500' },
    'changes-per-second': { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
  },
});
const STREAMS = Number(values.streams);
const RATE = Number(values['changes-per-second']);
const SECONDS = Number(values.seconds);
const log = (what: string) => console.error(`[fanout] ${what}`);

const started = new Date();
const postgres = await startEmbeddedPostgres();
const adminPassword = `bench-${randomUUID()}`;
const cp = await spawnTs<{ url: string }>('bench/cp-process.ts', [postgres.url, adminPassword]);
const base = cp.first.url;
const api = apiClient(base);
const { token } = await api<{ token: string }>('POST', '/api/v1/auth/login', {
  username: 'admin',
  password: adminPassword,
});
// bench/cp-process.ts keeps the control plane's tables in this server's `postgres` database.
const database = new pg.Client({ connectionString: postgres.url });
await database.connect();

// Sessions to change: rows of the admin's, enough that each change names a different one.
const sessionIds = (
  await database.query<{ id: string }>(
    `INSERT INTO sessions (user_id, template_id, platform, state, home_key, vnc_password)
      SELECT (SELECT id FROM users WHERE username = 'admin'), 'terminal', 'local', 'running',
        'h', 'p'
      FROM generate_series(1, $1::int) RETURNING id`,
    [RATE * SECONDS],
  )
).rows.map((row) => row.id);

// The streams: each records when it received which session.
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let received = 0;
const aborts: AbortController[] = [];
async function openStream(): Promise<void> {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await fetch(`${base}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (response.status !== 200) throw new Error(`event stream: ${response.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  void (async () => {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const id = /"id":"([0-9a-f-]{36})"/.exec(event)?.[1];
        const sent = id === undefined ? undefined : sentAt.get(id);
        if (event.startsWith('event: session') && sent !== undefined) {
          latencies.push(wallClockMs() - sent);
          received += 1;
        }
      }
    }
  })().catch(() => {});
}
log(`opening ${STREAMS} event streams`);
for (let i = 0; i < STREAMS; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, STREAMS - i) }, openStream));
}

const pids = { cp: [cp.child.pid!], pg: postgresPids(process.pid) };
const before = { cp: cpuSeconds(pids.cp), pg: cpuSeconds(pids.pg) };
const t0 = performance.now();
log(`${RATE} changes/s for ${SECONDS} s`);
for (const [index, id] of sessionIds.entries()) {
  const due = t0 + (index * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  sentAt.set(id, wallClockMs());
  await database.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, `session:${id}`]);
}
const expected = sessionIds.length * STREAMS;
const drainDeadline = performance.now() + 30_000;
while (received < expected && performance.now() < drainDeadline) await sleep(100);
const seconds = (performance.now() - t0) / 1000;
const cpPct = ((cpuSeconds(pids.cp) - before.cp) / seconds) * 100;
const pgPct = ((cpuSeconds(pids.pg) - before.pg) / seconds) * 100;
const latency = percentiles(latencies);

for (const abort of aborts) abort.abort();
await database.end();
await stopChild(cp.child);
await postgres.stop();

const fmt = (n: number) => n.toFixed(1);
process.stdout.write(
  [
    `${started.toISOString()} — ${STREAMS} admin event streams, ${RATE} session changes/s for ${SECONDS} s; load average at the end ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
    '',
    '| delivered | change → stream p50 / p95 / p99 / max ms | control plane CPU % | PostgreSQL CPU % |',
    '|---|---|---|---|',
    `| ${received} of ${expected} | ${fmt(latency.p50)} / ${fmt(latency.p95)} / ${fmt(latency.p99)} / ${fmt(latency.max)} | ${fmt(cpPct)} | ${fmt(pgPct)} |`,
    '',
  ].join('\n'),
);
