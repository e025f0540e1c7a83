import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (Linux: USER_HZ, 100 on every arch we run). */
const TICKS_PER_SECOND = 100;

/** A process and its descendants (websockify forks one process per connection). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** User + system CPU seconds used so far by these processes (and their whole trees). */
export function cpuSeconds(rootPids: number[]): number {
  let ticks = 0;
  for (const root of rootPids) {
    for (const pid of processTree(root)) ticks += readStat(pid)?.cpuTicks ?? 0;
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size in MiB of a process tree. */
export function rssMiB(rootPid: number): number {
  let kib = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(match?.[1] ?? 0);
    } catch {
      // the process exited between listing and reading
    }
  }
  return kib / 1024;
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime + stime, plus cutime + cstime: websockify's per-connection children count once
    // they are reaped, and live descendants are summed by processTree.
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    return { ppid: Number(fields[1]), cpuTicks: utime + stime + cutime + cstime };
  } catch {
    return undefined;
  }
}
