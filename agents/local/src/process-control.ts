import { accessSync, constants, readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Clock } from '@streamspace/protocol';

/** One process of a session, identified so a reused pid is never mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
  startTicks: string;
}

interface ProcStat {
  state: string;
  startTicks: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // proc(5): "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split
    // after the last ')'. The remaining fields start at field 3 (state); starttime is 22.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTicks: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** The identity of a live process, read right after spawning it. */
export function identify(pid: number): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return stat === undefined ? undefined : { pid, startTicks: stat.startTicks };
}

/** Alive and still the same process (not a zombie, not a reused pid). */
export function isAlive(process: ProcessIdentity): boolean {
  const stat = readProcStat(process.pid);
  if (stat === undefined) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return stat.startTicks === process.startTicks;
}

/**
 * Signal the process's group (the session's processes are spawned detached, so each leads
 * its own group and takes its children along), falling back to the process alone.
 */
export function signalGroup(process: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isAlive(process)) return;
  try {
    globalThis.process.kill(-process.pid, signal);
  } catch {
    try {
      globalThis.process.kill(process.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

const EXIT_POLL_MS = 50;

/** Resolves true once every process has exited, false when `timeoutMs` passes first. */
function waitForExit(
  processes: ProcessIdentity[],
  timeoutMs: number,
  clock: Clock,
): Promise<boolean> {
  const deadline = clock.now() + timeoutMs;
  const release = holdEventLoop();
  return new Promise<boolean>((resolve) => {
    const check = (): void => {
      if (processes.every((process) => !isAlive(process))) return resolve(true);
      if (clock.now() >= deadline) return resolve(false);
      clock.setTimeout(check, EXIT_POLL_MS);
    };
    check();
  }).finally(release);
}

/**
 * Keep the process alive while a caller awaits a poll: the system clock's timers are
 * unref'd, and the session processes are too, so nothing else may hold the event loop.
 */
export function holdEventLoop(): () => void {
  const handle = setInterval(() => {}, 60_000);
  return () => clearInterval(handle);
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL and wait for the kill to land. */
export async function terminate(
  processes: ProcessIdentity[],
  graceMs: number,
  clock: Clock,
): Promise<void> {
  const alive = processes.filter(isAlive);
  if (alive.length === 0) return;
  for (const process of alive) signalGroup(process, 'SIGTERM');
  if (await waitForExit(alive, graceMs, clock)) return;
  for (const process of alive) signalGroup(process, 'SIGKILL');
  await waitForExit(alive, 5_000, clock);
}

/** The absolute path of an executable as a shell would find it on PATH, or undefined. */
export function findExecutable(command: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = isAbsolute(command)
    ? [command]
    : command.includes('/')
      ? []
      : path
          .split(delimiter)
          .filter((dir) => dir !== '')
          .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** "Xvnc exited with code 1" / "xterm was killed by SIGKILL". */
export function describeExit(
  name: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): string {
  return signal !== null ? `${name} was killed by ${signal}` : `${name} exited with code ${code}`;
}

const TCP_LISTEN = '0A';

/** Inodes of sockets listening on `port` (any address), from proc(5) net/tcp and net/tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'latin1').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields[3] === TCP_LISTEN && fields[1]?.endsWith(`:${hexPort}`)) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/**
 * Whether `pid` itself holds a socket listening on `port`. An RFB banner on the port alone
 * does not prove our Xvnc started: another agent's Xvnc may hold that port while ours is
 * about to exit because of it.
 */
export async function listensOn(pid: number, port: number): Promise<boolean> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match !== null && inodes.has(match[1]!)) return true;
  }
  return false;
}
