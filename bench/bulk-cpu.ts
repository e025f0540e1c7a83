// Bulk server→client transfers only, with CPU per GiB per process and per thread: the quick
// way to compare a change to the stream path (the full picture is bench/run.ts).
// Usage: npx tsx bench/bulk-cpu.ts [--only=streamspace,bridge] [--mib=256] [--runs=4]
// The main thread's time is also split into user and system time: a copy less in JavaScript's
// thread shows in its user time, which the kernel's share (most of it) does not blur. Read and
// write system calls per MiB (all threads, /proc/<pid>/io) tell how large the I/O units were.
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startTarget, streamspacePath, wsBridgePath, type PathUnderTest } from './paths';
import { cpuSeconds } from './proc-stats';
import { bulk } from './workloads';

const MiB = 1024 * 1024;
const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const only = arg('only', 'streamspace,bridge').split(',');
const bulkMiB = Number(arg('mib', '256'));
const runs = Number(arg('runs', '4'));

/** CPU seconds per thread name ("node" is the main thread; V8 and libuv helpers differ). */
function threadSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const key = tid === String(pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + ticks / 100);
      if (key === 'main') {
        out.set('main user', Number(fields[11]) / 100);
        out.set('main sys', Number(fields[12]) / 100);
      }
    } catch {
      // the thread exited
    }
  }
  return out;
}

/** Read and write system calls so far (/proc/<pid>/io: syscr, syscw), all threads. */
function syscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  return { reads: field('syscr'), writes: field('syscw') };
}

async function measure(path: PathUnderTest): Promise<void> {
  const conn0 = await path.connect();
  await bulk(conn0, 32 * MiB); // warm-up: JIT, buffers
  conn0.close();
  const before = path.processes.map((p) => ({
    total: cpuSeconds([p.pid]),
    threads: threadSeconds(p.pid),
    syscalls: syscalls(p.pid),
  }));
  const rates: number[] = [];
  for (let run = 0; run < runs; run++) {
    const conn = await path.connect();
    rates.push(await bulk(conn, bulkMiB * MiB));
    conn.close();
  }
  const gib = (bulkMiB * runs) / 1024;
  const parts = path.processes.map((p, i) => {
    const threads = threadSeconds(p.pid);
    const perGiB = (name: string) =>
      ((threads.get(name) ?? 0) - (before[i]?.threads.get(name) ?? 0)) / gib;
    const detail = [...threads]
      .filter(([name]) => !name.startsWith('main '))
      .map(([name]) => [name, perGiB(name)] as const)
      .filter(([, s]) => s >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([name, s]) => `${name} ${s.toFixed(2)}`)
      .join(', ');
    const split = `main user ${perGiB('main user').toFixed(2)} + sys ${perGiB('main sys').toFixed(2)}`;
    const calls = syscalls(p.pid);
    const perMiB = (n: number) => (n / (gib * 1024)).toFixed(1);
    const io = `per MiB ${perMiB(calls.reads - (before[i]?.syscalls.reads ?? 0))} reads, ${perMiB(calls.writes - (before[i]?.syscalls.writes ?? 0))} writes`;
    const total = (cpuSeconds([p.pid]) - (before[i]?.total ?? 0)) / gib;
    return `${p.role} ${total.toFixed(2)} s/GiB (${detail}; ${split}; ${io})`;
  });
  rates.sort((a, b) => a - b);
  console.log(
    `${path.name}: bulk ${rates.map((r) => r.toFixed(0)).join(' / ')} MiB/s; ${parts.join('; ')}`,
  );
}

const target = await startTarget();
const factories: [string, () => Promise<PathUnderTest>][] = [
  ['bridge', () => wsBridgePath(target.port)],
  ['streamspace', () => streamspacePath(target.port)],
];
for (const [key, make] of factories) {
  if (!only.includes(key)) continue;
  const path = await make();
  try {
    await measure(path);
  } finally {
    await path.close();
  }
}
await target.close();
console.log(
  `load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
process.exit(0);
