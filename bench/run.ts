// Benchmark of the VNC stream path against baselines, in one run (TARGETS.md). Loopback only.
// Usage: npm run bench            (all paths, all workloads; about two minutes)
//        npm run bench -- --quick (smaller transfers, for trying changes)
// Control plane scale (agents heartbeating, sessions in the database, dispatch and API
// latency): npx tsx bench/control-plane-scale.ts [--agents N] [--sessions N] [--quick]
// Many browsers on the event stream: npx tsx bench/event-fanout.ts [--streams N]
//   [--changes-per-second R] [--seconds S]
import { cpus, loadavg } from 'node:os';
import type { Conn } from './clients';
import {
  directPath,
  startTarget,
  streamspacePath,
  websockifyPath,
  wsBridgePath,
  type PathUnderTest,
} from './paths';
import { cpuSeconds, rssMiB } from './proc-stats';
import { bulk, echo, fanOut, throttledReader, type FanOutResult } from './workloads';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const quick = process.argv.includes('--quick');
const BULK_BYTES = (quick ? 128 : 512) * MiB;
const BULK_RUNS = 3;
const FAN_OUT_STREAMS = 50;
const FAN_OUT_BYTES_EACH = (quick ? 4 : 16) * MiB;
const SLOW_VIEWER_BYTES_PER_SECOND = 1 * MiB;
const FAST_BYTES = (quick ? 64 : 256) * MiB;
const BACKLOG_BYTES = 1 * GiB;
const BACKLOG_SECONDS = quick ? 4 : 10;

interface PathResult {
  name: string;
  bulkMiBps: number;
  cpuPerGiB: Record<string, number>;
  echo: { p50: number; p99: number };
  fanOut: FanOutResult;
  fastSolo: number;
  fastBesideSlow: number;
  memory: Record<string, { idle: number; peak: number }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function measure(path: PathUnderTest): Promise<PathResult> {
  const log = (what: string) => console.error(`[${path.name}] ${what}`);
  const pids = path.processes;
  const closeAll = (conns: Conn[]) => conns.forEach((conn) => conn.close());

  log(`pids ${pids.map((p) => `${p.role}=${p.pid}`).join(' ')}`);
  log('bulk');
  const rates: number[] = [];
  const cpuBefore = pids.map((p) => cpuSeconds([p.pid]));
  for (let run = 0; run < BULK_RUNS; run++) {
    const conn = await path.connect();
    rates.push(await bulk(conn, BULK_BYTES));
    conn.close();
  }
  const carriedGiB = (BULK_BYTES * BULK_RUNS) / GiB;
  const cpuPerGiB = Object.fromEntries(
    pids.map((p, i) => [p.role, (cpuSeconds([p.pid]) - (cpuBefore[i] ?? 0)) / carriedGiB]),
  );

  log('echo');
  const echoConn = await path.connect();
  const latency = await echo(echoConn);
  echoConn.close();

  log('fan-out');
  const conns: Conn[] = [];
  for (let i = 0; i < FAN_OUT_STREAMS; i++) conns.push(await path.connect());
  const fan = await fanOut(conns, FAN_OUT_BYTES_EACH);
  closeAll(conns);

  log('slow viewer beside a fast one');
  const soloConn = await path.connect();
  const fastSolo = await bulk(soloConn, FAST_BYTES);
  soloConn.close();
  const slow = await path.connect();
  throttledReader(slow, SLOW_VIEWER_BYTES_PER_SECOND);
  slow.send(Buffer.from(`B ${BACKLOG_BYTES}\n`));
  await sleep(500); // let the slow viewer's backlog build before the fast one starts
  const fastConn = await path.connect();
  const fastBesideSlow = await bulk(fastConn, FAST_BYTES);
  fastConn.close();
  slow.close();

  log('memory with a 1 GiB backlog behind a slow viewer');
  await sleep(1000);
  const idle = Object.fromEntries(pids.map((p) => [p.role, rssMiB(p.pid)]));
  const peak = { ...idle };
  const backlog = await path.connect();
  const read = throttledReader(backlog, SLOW_VIEWER_BYTES_PER_SECOND);
  backlog.send(Buffer.from(`B ${BACKLOG_BYTES}\n`));
  const until = Date.now() + BACKLOG_SECONDS * 1000;
  while (Date.now() < until) {
    await sleep(250);
    for (const p of pids) peak[p.role] = Math.max(peak[p.role] ?? 0, rssMiB(p.pid));
  }
  log(`slow viewer read ${(read() / MiB).toFixed(1)} MiB in ${BACKLOG_SECONDS} s`);
  backlog.close();
  const memory = Object.fromEntries(
    pids.map((p) => [p.role, { idle: idle[p.role] ?? 0, peak: peak[p.role] ?? 0 }]),
  );

  return {
    name: path.name,
    bulkMiBps: median(rates),
    cpuPerGiB,
    echo: latency,
    fanOut: fan,
    fastSolo,
    fastBesideSlow,
    memory,
  };
}

function report(results: PathResult[]): string {
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const direct = results[0] as PathResult;
  const bridge = results.find((r) => r.name.startsWith('ws bridge'));
  const lines = [
    '| path | bulk MiB/s | × direct | CPU s/GiB | echo p50 / p99 µs | added p50 / p99 µs | 50 streams slowest÷fastest | max stall ms | fast beside slow ÷ solo | RSS idle → peak MiB (1 GiB backlog) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const cpu = Object.entries(r.cpuPerGiB)
      .map(([role, s]) => `${role} ${fmt(s, 2)}`)
      .join(', ');
    const memory = Object.entries(r.memory)
      .map(([role, m]) => `${role} ${fmt(m.idle)} → ${fmt(m.peak)} (+${fmt(m.peak - m.idle)})`)
      .join(', ');
    lines.push(
      `| ${r.name} | ${fmt(r.bulkMiBps)} | ${fmt(r.bulkMiBps / direct.bulkMiBps, 2)} | ${cpu || '—'} | ` +
        `${fmt(r.echo.p50)} / ${fmt(r.echo.p99)} | ${fmt(r.echo.p50 - direct.echo.p50)} / ${fmt(r.echo.p99 - direct.echo.p99)} | ` +
        `${fmt(r.fanOut.fairness, 2)} | ${fmt(r.fanOut.maxStallMs)} | ${fmt(r.fastBesideSlow / r.fastSolo, 2)} | ${memory || '—'} |`,
    );
  }
  const ours = results.find((r) => r.name.startsWith('StreamSpace'));
  if (ours !== undefined) {
    const cpuTotal = Object.values(ours.cpuPerGiB).reduce((a, b) => a + b, 0);
    const mem = Object.entries(ours.memory).map(
      ([role, m]) => `${role} +${fmt(m.peak - m.idle)} MiB`,
    );
    lines.push(
      '',
      'Against TARGETS.md:',
      '',
      `- bulk: ${fmt(ours.bulkMiBps / direct.bulkMiBps, 2)} × direct TCP (target ≥ 0.35)` +
        (bridge
          ? `, ${fmt(ours.bulkMiBps / bridge.bulkMiBps, 2)} × the one-hop ws bridge (target ≥ 0.6)`
          : ''),
      `- CPU per GiB, control plane + agent: ${fmt(cpuTotal, 2)} s (target ≤ 2.0 s)`,
      `- added echo latency p50 / p99: +${fmt(ours.echo.p50 - direct.echo.p50)} / +${fmt(ours.echo.p99 - direct.echo.p99)} µs (target ≤ +80 / ≤ +400 µs)`,
      `- 50 streams slowest ÷ fastest: ${fmt(ours.fanOut.fairness, 2)}, max stall ${fmt(ours.fanOut.maxStallMs)} ms (target ≥ 0.7, ≤ 100 ms)`,
      `- fast viewer beside a 1 MiB/s viewer: ${fmt(ours.fastBesideSlow / ours.fastSolo, 2)} × solo (target ≥ 0.9)`,
      `- memory with a 1 GiB backlog: ${mem.join(', ')} (target ≤ +50 MiB each)`,
    );
  }
  return lines.join('\n');
}

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const target = await startTarget();
const factories: [string, () => Promise<PathUnderTest>][] = [
  ['direct', async () => directPath(target.port)],
  ['websockify', () => websockifyPath(target.port)],
  ['bridge', () => wsBridgePath(target.port)],
  ['streamspace', () => streamspacePath(target.port)],
];
const results: PathResult[] = [];
for (const [key, make] of factories) {
  if (only !== undefined && key !== 'direct' && !only.split(',').includes(key)) continue;
  const path = await make();
  try {
    results.push(await measure(path));
  } finally {
    await path.close();
  }
}
await target.close();
console.log(
  `\n${new Date().toISOString()} — node ${process.version}, ${cpus().length} cores, ` +
    `load average at the end ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' ')}, ${quick ? 'quick' : 'full'} run\n`,
);
console.log(report(results));
process.exit(0);
