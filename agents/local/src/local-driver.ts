import type { ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { SessionSpec, systemClock, type Clock } from '@streamspace/protocol';
import {
  DriverError,
  type SessionChangeListener,
  type SessionDriver,
  type StartedSession,
  type StopOptions,
} from '@streamspace/session-driver';
import { lockDataDir } from './data-dir-lock';
import { DEFAULT_DISPLAY_RANGE, type DisplayRange } from './display-allocator';
import { describeExit, findExecutable, isAlive, terminate } from './process-control';
import {
  launchClient,
  launchOnFreeDisplay,
  sessionEnvironment,
  type LaunchedProcess,
} from './session-launcher';
import { LOOPBACK, observe } from './session-observation';
import { windowManagerCommand, writeWindowManagerConfig } from './window-manager';
import { SessionStateStore, type SessionProcess, type SessionRecord } from './session-state-store';
import { recoverSessions } from './session-recovery';

export interface LocalDriverOptions {
  /** Holds `homes/<homeKey>` (the persistent homes) and `sessions/` (state, logs). */
  dataDir: string;
  logger?: Logger;
  clock?: Clock;
  /** Between SIGTERM and SIGKILL for the app and window manager (then Xvnc), in ms. */
  stopGraceMs?: number;
  /** Bound on Xvnc answering RFB after spawn, in ms. */
  startTimeoutMs?: number;
  /** How often processes adopted after an agent restart are checked, in ms. */
  livenessIntervalMs?: number;
  displayRange?: DisplayRange;
  /** Where X servers keep `.X<N>-lock` and `.X11-unix/` (for tests). */
  x11TmpDir?: string;
  /** PATH searched for Xvnc, window managers and apps. */
  path?: string;
}

interface Binaries {
  xvnc: string;
  wm: string | undefined;
  app: string[] | undefined;
}

interface Launched extends LaunchedProcess {
  role: SessionProcess['role'];
  name: string;
}

const DEFAULT_STOP_GRACE_MS = 5_000;
const DEFAULT_START_TIMEOUT_MS = 10_000;
const WM_GRACE_MS = 500;
const DEFAULT_LIVENESS_MS = 1_000;
/**
 * The local agent's driver: each session is Xvnc + window manager + app on this host, as the
 * agent's own user, bound to 127.0.0.1. State lives in `<dataDir>/sessions/*.json` so a
 * restarted agent still knows, stops and reports its sessions.
 */
export async function createLocalDriver(options: LocalDriverOptions): Promise<SessionDriver> {
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ driver: 'local' });
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const livenessMs = options.livenessIntervalMs ?? DEFAULT_LIVENESS_MS;
  const range = options.displayRange ?? DEFAULT_DISPLAY_RANGE;
  const x11TmpDir = options.x11TmpDir ?? '/tmp';
  const searchPath = options.path ?? process.env.PATH ?? '';
  const homesDir = join(options.dataDir, 'homes');
  const store = new SessionStateStore(join(options.dataDir, 'sessions'));

  const sessions = new Map<string, SessionRecord>();
  const locks = new Map<string, Promise<unknown>>();
  const listeners = new Set<SessionChangeListener>();
  /** pids this instance spawned and watches through 'exit' events. */
  const owned = new Map<number, ChildProcess>();
  const pendingDisplays = new Set<number>();
  const pendingPorts = new Set<number>();
  let closed = false;

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const releaseDataDir = await lockDataDir(options.dataDir);
  let configDir: string;
  try {
    await store.init();
    await mkdir(homesDir, { recursive: true, mode: 0o700 });
    configDir = await writeWindowManagerConfig(options.dataDir);
  } catch (error) {
    await releaseDataDir();
    throw error;
  }

  /** Per-session serialisation: start, stop, hibernate and failures never interleave. */
  function withLock<T>(sessionId: string, action: () => Promise<T>): Promise<T> {
    const previous = locks.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(action);
    locks.set(sessionId, next);
    const release = (): void => {
      if (locks.get(sessionId) === next) locks.delete(sessionId);
    };
    next.then(release, release);
    return next;
  }

  async function persist(record: SessionRecord): Promise<void> {
    record.updatedAt = clock.now();
    await store.save(record);
  }

  function emit(record: SessionRecord): void {
    if (closed) return;
    const observation = observe(record);
    for (const listener of listeners) {
      try {
        listener(observation);
      } catch (error) {
        logger.warn({ err: error }, 'session change listener threw');
      }
    }
  }

  function homeDir(homeKey: string): string {
    // The regex forbids '/', '.', so the key cannot leave homesDir.
    if (!SessionSpec.shape.homeKey.safeParse(homeKey).success) {
      throw new DriverError('invalid_spec', 'homeKey is not a safe directory name');
    }
    return join(homesDir, homeKey);
  }

  /**
   * Stop every process of the record, one role at a time: the app first (SIGTERM, the grace
   * to flush its files, SIGKILL), then the window manager, then Xvnc. A window manager keeps
   * no user data and gets a short grace: twm notices SIGTERM only on its next X event, which
   * may never come on a desktop whose app has gone.
   */
  async function teardown(record: SessionRecord): Promise<void> {
    const graceFor = {
      app: stopGraceMs,
      wm: Math.min(stopGraceMs, WM_GRACE_MS),
      xvnc: stopGraceMs,
    };
    for (const role of ['app', 'wm', 'xvnc'] as const) {
      const processes = record.processes.filter((process) => process.role === role);
      await terminate(processes, graceFor[role], clock);
    }
    for (const process of record.processes) owned.delete(process.pid);
    record.processes = [];
    record.display = undefined;
    record.port = undefined;
    await rm(store.file(record.sessionId, '.passwd'), { force: true });
    await rm(store.file(record.sessionId, '.xauth'), { force: true });
  }

  /** A process of a running session died on its own: the session has failed. */
  function failSession(
    sessionId: string,
    pid: number,
    reason: string,
    endedNormally = false,
  ): Promise<void> {
    return withLock(sessionId, async () => {
      const record = sessions.get(sessionId);
      if (closed || record === undefined || record.status !== 'running') return;
      if (!record.processes.some((process) => process.pid === pid)) return;
      logger.warn({ sessionId, reason }, 'session process died');
      record.status = 'failed';
      record.reason = reason;
      record.endedNormally = endedNormally;
      // Report first: the teardown of what is left may take the grace period.
      await persist(record);
      emit(record);
      await teardown(record);
      await persist(record);
    });
  }

  function watch(sessionId: string, process: SessionProcess, child: ChildProcess): void {
    owned.set(process.pid, child);
    child.unref();
    child.once('exit', (code, signal) => {
      owned.delete(process.pid);
      if (!closed)
        void failSession(
          sessionId,
          process.pid,
          describeExit(process.name, code, signal),
          process.role === 'app' && code === 0,
        );
    });
  }

  function requireExecutable(command: string, what: string): string {
    const found = findExecutable(command, searchPath);
    if (found === undefined) {
      throw new DriverError('invalid_spec', `${what} '${command}' is not installed on this host`);
    }
    return found;
  }

  function reserved(): { displays: Set<number>; ports: Set<number> } {
    const displays = new Set(pendingDisplays);
    const ports = new Set(pendingPorts);
    for (const record of sessions.values()) {
      if (record.display !== undefined) displays.add(record.display);
      if (record.port !== undefined) ports.add(record.port);
    }
    return { displays, ports };
  }

  /** The binaries a spec needs, checked before anything is touched (a bad spec leaves no trace). */
  function resolveBinaries(spec: SessionSpec): Binaries {
    const xvnc = findExecutable('Xvnc', searchPath);
    if (xvnc === undefined) {
      throw new DriverError('platform_error', 'Xvnc is not installed (tigervnc-standalone-server)');
    }
    return {
      xvnc,
      wm:
        spec.windowManager === 'none'
          ? undefined
          : requireExecutable(spec.windowManager, 'window manager'),
      app:
        spec.app.length > 0
          ? [requireExecutable(spec.app[0]!, 'app'), ...spec.app.slice(1)]
          : undefined,
    };
  }

  async function launch(
    record: SessionRecord,
    spec: SessionSpec,
    home: string,
    binaries: Binaries,
  ): Promise<void> {
    const files = {
      passwordFile: store.file(record.sessionId, '.passwd'),
      xauthFile: store.file(record.sessionId, '.xauth'),
      logFile: store.file(record.sessionId, '.log'),
    };
    const { display, xvnc } = await launchOnFreeDisplay({
      picker: { range, x11TmpDir, reserved, pendingDisplays, pendingPorts },
      files,
      xvncPath: binaries.xvnc,
      spec,
      clock,
      startTimeoutMs,
      logger: logger.child({ sessionId: record.sessionId }),
      onAllocated: async (allocated) => {
        record.display = allocated?.display;
        record.port = allocated?.port;
        if (allocated !== undefined) await persist(record);
      },
    });

    const env = sessionEnvironment(spec, home, display, files.xauthFile);
    const launched: Launched[] = [{ role: 'xvnc', name: 'Xvnc', ...xvnc }];
    if (binaries.wm !== undefined) {
      const command = windowManagerCommand(spec.windowManager, binaries.wm, configDir);
      const wm = launchClient(command, env, home, files.logFile);
      launched.push({ role: 'wm', name: spec.windowManager, ...wm });
    }
    if (binaries.app !== undefined) {
      const app = launchClient(binaries.app, env, home, files.logFile);
      launched.push({ role: 'app', name: spec.app[0]!, ...app });
    }
    record.processes = launched.map(({ role, name, identity }) => ({ role, name, ...identity }));
    record.status = 'running';
    record.reason = undefined;
    record.endedNormally = undefined;
    for (const [index, entry] of launched.entries()) {
      watch(record.sessionId, record.processes[index]!, entry.child);
    }
    await persist(record);
  }

  async function startSession(spec: SessionSpec): Promise<StartedSession> {
    return withLock(spec.sessionId, async () => {
      const existing = sessions.get(spec.sessionId);
      if (existing?.status === 'running') return { observation: observe(existing) };
      const log = logger.child({ sessionId: spec.sessionId });
      const home = homeDir(spec.homeKey);
      const binaries = resolveBinaries(spec);
      if (existing !== undefined) await teardown(existing);
      await mkdir(home, { recursive: true, mode: 0o700 });

      const { vncPassword: _secret, ...publicSpec } = spec;
      const record: SessionRecord = existing ?? {
        sessionId: spec.sessionId,
        status: 'starting',
        processes: [],
        spec: publicSpec,
        updatedAt: clock.now(),
      };
      const previousStatus = record.status;
      record.status = 'starting';
      record.spec = publicSpec;
      sessions.set(spec.sessionId, record);
      try {
        await launch(record, spec, home, binaries);
      } catch (error) {
        await teardown(record);
        // A hibernated session stays hibernated (its home is intact); a new one has failed.
        record.status = previousStatus === 'hibernated' ? 'hibernated' : 'failed';
        record.reason = error instanceof Error ? error.message : String(error);
        await persist(record);
        log.warn({ err: error }, 'session start failed');
        throw error;
      }
      log.info({ display: record.display, port: record.port }, 'session running');
      return { observation: observe(record) };
    });
  }

  const recovered = await recoverSessions(store, { clock, teardown, homeDir, logger }).catch(
    async (error: unknown) => {
      await releaseDataDir();
      throw error;
    },
  );
  for (const record of recovered) sessions.set(record.sessionId, record);

  // Sessions adopted from an earlier agent are not our children: no 'exit' event, so poll.
  let livenessTimer = clock.setTimeout(function checkLiveness() {
    for (const record of sessions.values()) {
      if (record.status !== 'running') continue;
      for (const process of record.processes) {
        if (owned.has(process.pid) || isAlive(process)) continue;
        void failSession(
          record.sessionId,
          process.pid,
          `${process.name} (pid ${process.pid}) is no longer running`,
        );
      }
    }
    if (!closed) livenessTimer = clock.setTimeout(checkLiveness, livenessMs);
  }, livenessMs);

  return {
    platform: 'local',
    start: startSession,
    wake: startSession,

    stop: (sessionId: string, stopOptions: StopOptions) =>
      withLock(sessionId, async () => {
        const record = sessions.get(sessionId);
        const homeKey = record?.spec.homeKey ?? stopOptions.homeKey;
        if (record !== undefined) {
          record.status = 'stopping';
          record.deleteHome = stopOptions.deleteHome;
          await persist(record);
          await teardown(record);
          sessions.delete(sessionId);
          await store.remove(sessionId);
        }
        if (stopOptions.deleteHome && homeKey !== undefined) {
          await rm(homeDir(homeKey), { recursive: true, force: true });
        }
        logger.info({ sessionId, deleteHome: stopOptions.deleteHome }, 'session stopped');
      }),

    hibernate: (sessionId: string) =>
      withLock(sessionId, async () => {
        const record = sessions.get(sessionId);
        if (record === undefined) {
          throw new DriverError('session_not_found', `no local session ${sessionId}`);
        }
        if (record.status === 'hibernated') return;
        record.status = 'hibernating';
        await persist(record);
        await teardown(record);
        record.status = 'hibernated';
        record.reason = undefined;
        await persist(record);
        logger.info({ sessionId }, 'session hibernated');
      }),

    inspect: async (sessionId: string) => {
      const record = sessions.get(sessionId);
      return record === undefined ? null : observe(record);
    },

    list: async () => [...sessions.values()].map(observe),

    openStream: async (sessionId: string, port: number) => {
      const record = sessions.get(sessionId);
      if (record?.status !== 'running' || record.port === undefined) {
        throw new DriverError('session_not_found', `local session ${sessionId} is not running`);
      }
      if (port !== record.spec.vncPort) {
        throw new DriverError(
          'invalid_spec',
          `local sessions expose only their VNC port ${record.spec.vncPort}`,
        );
      }
      return new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: LOOPBACK, port: record.port! });
        // After 'connect' this listener stays as a no-op, so a later socket error is never an
        // unhandled 'error' event; the caller attaches its own.
        socket.once('connect', () => {
          socket.setNoDelay(true);
          resolve(socket);
        });
        socket.once('error', (error) =>
          reject(
            new DriverError('platform_error', `VNC port refused: ${error.message}`, {
              cause: error,
            }),
          ),
        );
      });
    },

    onSessionChange: (listener: SessionChangeListener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close: async () => {
      closed = true;
      clock.clearTimeout(livenessTimer);
      listeners.clear();
      await Promise.allSettled([...locks.values()]);
      await releaseDataDir();
    },
  };
}
