import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock, Geometry, SessionSpec } from '@streamspace/protocol';
import { DriverError } from '@streamspace/session-driver';
import {
  allocateDisplay,
  allocatePort,
  displayInUse,
  type DisplayRange,
} from './display-allocator';
import {
  holdEventLoop,
  identify,
  listensOn,
  signalGroup,
  type ProcessIdentity,
} from './process-control';
import { answersRfb } from './rfb-banner';
import { writeVncPasswordFile, writeXAuthority } from './session-files';

/** Xvnc could not take its display or port because another process holds it: try another. */
export class DisplayTakenError extends Error {
  override readonly name = 'DisplayTakenError';
}

// What Xvnc prints when the display's lock or the RFB port is already taken.
const COLLISION = /already active|Address already in use|Cannot establish any listening sockets/i;
const BANNER_POLL_MS = 50;

export interface XvncLaunch {
  xvncPath: string;
  display: number;
  port: number;
  geometry: Geometry;
  passwordFile: string;
  xauthFile: string;
  logFile: string;
}

export interface LaunchedProcess {
  child: ChildProcess;
  identity: ProcessIdentity;
}

function openLog(logFile: string): number {
  return openSync(logFile, 'a', 0o600);
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-4).join(' | ').slice(-500);
}

/**
 * Start Xvnc bound to loopback and resolve once its RFB port answers with a banner.
 * Detached: it leads its own process group and outlives an agent restart.
 */
async function launchXvnc(
  launch: XvncLaunch,
  clock: Clock,
  startTimeoutMs: number,
): Promise<LaunchedProcess> {
  const args = [
    `:${launch.display}`,
    '-rfbport',
    String(launch.port),
    '-localhost',
    '-nolisten',
    'tcp',
    '-auth',
    launch.xauthFile,
    '-geometry',
    `${launch.geometry.width}x${launch.geometry.height}`,
    '-depth',
    '24',
    '-SecurityTypes',
    'VncAuth',
    '-PasswordFile',
    launch.passwordFile,
    // Several viewers watch one session; a viewer asking for exclusive access must not
    // disconnect the others.
    '-AlwaysShared',
    '-desktop',
    'StreamSpace',
  ];
  const log = openLog(launch.logFile);
  let child: ChildProcess;
  try {
    // Only the allow-listed variables: Xvnc's /proc/<pid>/environ is readable by every
    // process of the session, and the agent's environment holds its credentials.
    const env = inheritedEnvironment();
    child = spawn(launch.xvncPath, args, { detached: true, stdio: ['ignore', log, log], env });
  } finally {
    closeSync(log);
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  child.once('error', (error) => (spawnError = error));

  const deadline = clock.now() + startTimeoutMs;
  const release = holdEventLoop();
  try {
    return await waitForBanner();
  } finally {
    release();
  }

  async function waitForBanner(): Promise<LaunchedProcess> {
    for (;;) {
      if (spawnError !== undefined) {
        throw new DriverError('platform_error', `Xvnc could not be started: ${spawnError.message}`);
      }
      if (exit !== undefined) {
        const tail = await logTail(launch.logFile);
        if (COLLISION.test(tail)) throw new DisplayTakenError(`display :${launch.display} taken`);
        const how = exit.signal ?? `code ${exit.code}`;
        throw new DriverError('platform_error', `Xvnc exited with ${how} during start: ${tail}`);
      }
      if (child.pid !== undefined && (await answersRfb(launch.port))) {
        // The banner must come from our Xvnc, not from another one holding the port.
        const identity = identify(child.pid);
        const ours = identity !== undefined && (await listensOn(child.pid, launch.port));
        if (ours && exit === undefined) return { child, identity };
      }
      if (clock.now() >= deadline) {
        if (child.pid !== undefined) {
          const identity = identify(child.pid);
          if (identity !== undefined) signalGroup(identity, 'SIGKILL');
        }
        throw new DriverError(
          'start_timeout',
          `Xvnc on display :${launch.display} did not answer RFB within ${startTimeoutMs} ms`,
        );
      }
      await new Promise<void>((resolve) => clock.setTimeout(resolve, BANNER_POLL_MS));
    }
  }
}

/** Start an X client (window manager, app) of the session, detached like Xvnc. */
export function launchClient(
  command: string[],
  env: Record<string, string>,
  cwd: string,
  logFile: string,
): LaunchedProcess {
  const [file, ...args] = command;
  const log = openLog(logFile);
  let child: ChildProcess;
  try {
    child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log], env, cwd });
  } finally {
    closeSync(log);
  }
  // A spawn failure (ENOENT after the PATH check, EACCES) surfaces as an exit the driver reports.
  child.once('error', () => {});
  const identity = child.pid === undefined ? undefined : identify(child.pid);
  return { child, identity: identity ?? { pid: child.pid ?? -1, startTicks: '' } };
}

export interface DisplayPicker {
  range: DisplayRange;
  x11TmpDir: string;
  /** Displays and ports the agent's sessions hold. */
  reserved: () => { displays: Set<number>; ports: Set<number> };
  /** Claimed by starts in flight, so two concurrent starts never pick the same one. */
  pendingDisplays: Set<number>;
  pendingPorts: Set<number>;
}

export interface FreeDisplayLaunch {
  picker: DisplayPicker;
  files: { passwordFile: string; xauthFile: string; logFile: string };
  xvncPath: string;
  spec: SessionSpec;
  clock: Clock;
  startTimeoutMs: number;
  logger: Logger;
  /** Record the display and port before Xvnc starts (undefined: the attempt failed). */
  onAllocated: (allocated: { display: number; port: number } | undefined) => Promise<void>;
}

const LAUNCH_ATTEMPTS = 5;

/**
 * Pick a free display and port, write the session's VNC password and X cookie, and start
 * Xvnc; when another process takes the display first, try the next one.
 */
export async function launchOnFreeDisplay(
  launch: FreeDisplayLaunch,
): Promise<{ display: number; port: number; xvnc: LaunchedProcess }> {
  const { picker, files } = launch;
  const tried = new Set<number>();
  for (let attempt = 0; attempt < LAUNCH_ATTEMPTS; attempt += 1) {
    const taken = picker.reserved();
    const display = allocateDisplay(picker.range, new Set([...taken.displays, ...tried]), (n) =>
      displayInUse(n, picker.x11TmpDir),
    );
    if (display === undefined) break;
    picker.pendingDisplays.add(display);
    const port = await allocatePort(display, taken.ports);
    picker.pendingPorts.add(port);
    try {
      await writeVncPasswordFile(files.passwordFile, launch.spec.vncPassword);
      await rm(files.xauthFile, { force: true });
      await writeXAuthority(files.xauthFile, display);
      await launch.onAllocated({ display, port });
      const xvnc = await launchXvnc(
        { xvncPath: launch.xvncPath, display, port, geometry: launch.spec.geometry, ...files },
        launch.clock,
        launch.startTimeoutMs,
      );
      return { display, port, xvnc };
    } catch (error) {
      await launch.onAllocated(undefined);
      if (!(error instanceof DisplayTakenError)) throw error;
      launch.logger.info({ display }, 'display taken, trying another');
      tried.add(display);
    } finally {
      picker.pendingDisplays.delete(display);
      picker.pendingPorts.delete(port);
    }
  }
  throw new DriverError('capacity_exhausted', 'no free X display for a new session');
}

// Passed from the agent's environment to sessions; everything else (the agent's credentials
// among them) stays out.
const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME', 'SHELL'];

function inheritedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** The environment of a session's window manager and app. */
export function sessionEnvironment(
  spec: SessionSpec,
  home: string,
  display: number,
  xauthFile: string,
): Record<string, string> {
  const env = inheritedEnvironment();
  return { ...env, ...spec.env, HOME: home, DISPLAY: `:${display}`, XAUTHORITY: xauthFile };
}
