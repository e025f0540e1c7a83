import { connect, type Socket } from 'node:net';
import Docker from 'dockerode';
import { pino, type Logger } from 'pino';
import {
  SessionSpec,
  systemClock,
  type Clock,
  type SessionObservation,
} from '@streamspace/protocol';
import {
  DriverError,
  type SessionChangeListener,
  type SessionDriver,
  type StartedSession,
  type StopOptions,
} from '@streamspace/session-driver';
import { containerCreateOptions, reservedEnvNames } from './container-config';
import { watchContainerEvents, type ContainerEvent } from './container-events';
import {
  containerName,
  hibernationVolumeName,
  homeVolumeName,
  LABEL_HOME,
  LABEL_MANAGED,
  LABEL_SCOPE,
  LABEL_SESSION_ID,
  LABEL_TEMPLATE_ID,
  LABEL_USER_ID,
  scopeFilter,
  sessionLabels,
} from './docker-labels';
import { lastLogLines } from './docker-logs';
import { passwordArchive } from './password-archive';
import { answersRfb } from './rfb-readiness';
import {
  describeExit,
  hibernatedObservation,
  observationFromContainer,
  truncateReason,
} from './session-observation';

export interface DockerDriverOptions {
  /** The engine to drive; defaults to DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /** Bridge network the sessions join (created if missing). */
  network?: string;
  /**
   * Owner of the containers and volumes this driver makes (label io.streamspace.scope), so
   * several agents or test runs can share one Docker engine without seeing each other.
   */
  scope?: string;
  /** docker stop grace: SIGTERM, then SIGKILL after this many seconds. */
  stopGraceSeconds?: number;
  /** Bound on the container answering RFB after it starts, in ms. */
  startTimeoutMs?: number;
  /** /dev/shm size of each session, in MiB. */
  shmSizeMb?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface DockerDriver extends SessionDriver {
  readonly network: string;
  readonly scope: string;
}

export const DEFAULT_SESSION_NETWORK = 'streamspace-sessions';
const DEFAULT_SCOPE = 'default';
const DEFAULT_STOP_GRACE_SECONDS = 10;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_SHM_MB = 256;
/** One RFB probe's wait for the banner, and the pause between probes, in ms. */
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 50;
const LOG_LINES_IN_ERRORS = 15;
/** How long a container the driver stopped stays "expected" if no destroy event comes, in ms. */
const EXPECTED_EXIT_TTL_MS = 5 * 60_000;

/**
 * Sessions as containers on a dedicated bridge network (README.md beside this package).
 * The agent reaches each container's VNC port at its IP on that network; no port is
 * published on the host.
 */
export function createDockerDriver(options: DockerDriverOptions = {}): DockerDriver {
  const docker = options.docker ?? new Docker();
  const network = options.network ?? DEFAULT_SESSION_NETWORK;
  const scope = options.scope ?? DEFAULT_SCOPE;
  const stopGraceSeconds = options.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const shmSizeMb = options.shmSizeMb ?? DEFAULT_SHM_MB;
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ driver: 'docker', scope });

  const listeners = new Set<SessionChangeListener>();
  /** Containers being created and started: start() reports their failures itself. */
  const starting = new Set<string>();
  /** Containers the driver is stopping or removing: their die/destroy is not a failure. */
  const expectedExits = new Set<string>();
  /** Containers whose death was reported, so the following destroy is not reported again. */
  const reportedDeaths = new Set<string>();
  const oomKilled = new Set<string>();
  const locks = new Map<string, Promise<unknown>>();
  let networkReady: Promise<void> | undefined;

  const emit = (observation: SessionObservation) => {
    for (const listener of listeners) listener(observation);
  };

  const onEvent = async (event: ContainerEvent) => {
    const sessionId = event.attributes[LABEL_SESSION_ID];
    const id = event.containerId;
    if (sessionId === undefined) return;
    if (event.action === 'oom') {
      oomKilled.add(id);
      return;
    }
    if (starting.has(id) || expectedExits.has(id)) {
      if (event.action === 'destroy') {
        expectedExits.delete(id);
        oomKilled.delete(id);
      }
      return;
    }
    const log = logger.child({ sessionId, containerId: id.slice(0, 12) });
    if (event.action === 'die') {
      reportedDeaths.add(id);
      const container = docker.getContainer(id);
      const info = await container.inspect().catch(() => undefined);
      const exitCode = info?.State.ExitCode ?? event.exitCode ?? -1;
      const oom = info?.State.OOMKilled === true || oomKilled.has(id);
      const lines = await lastLogLines(container, 3);
      const reason = describeExit(exitCode, oom);
      log.warn({ exitCode, oomKilled: oom }, 'session container died');
      emit({
        sessionId,
        status: exitCode === 0 && !oom ? 'stopped' : 'failed',
        reason: truncateReason(reason),
        details: {
          containerId: id.slice(0, 12),
          ...(lines.length > 0 ? { lastLog: truncateReason(lines.join('\n')) } : {}),
        },
      });
      return;
    }
    // destroy
    oomKilled.delete(id);
    if (reportedDeaths.delete(id)) return;
    log.warn('session container removed behind the driver');
    emit({
      sessionId,
      status: 'failed',
      reason: 'container was removed outside StreamSpace',
      details: { containerId: id.slice(0, 12) },
    });
  };

  const events = watchContainerEvents({
    docker,
    labelFilters: [`${LABEL_MANAGED}=true`, `${LABEL_SCOPE}=${scope}`],
    onEvent: (event) => void onEvent(event),
    clock,
    logger,
  });

  /** One operation per session at a time: start, stop and hibernate never interleave. */
  function serialized<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    const previous = locks.get(sessionId) ?? Promise.resolve();
    const result = previous.catch(() => {}).then(task);
    const tail = result.catch(() => {});
    locks.set(sessionId, tail);
    void tail.then(() => {
      if (locks.get(sessionId) === tail) locks.delete(sessionId);
    });
    return result;
  }

  const delay = (ms: number) =>
    new Promise<void>((resolve) => clock.setTimeout(() => resolve(), ms));

  async function findContainer(sessionId: string) {
    try {
      const info = await docker.getContainer(containerName(sessionId)).inspect();
      // Same name, another owner (another agent's scope): not ours to report or touch.
      if (info.Config.Labels?.[LABEL_SCOPE] !== scope) return undefined;
      return info;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw platformError(`inspecting the container of session ${sessionId}`, error);
    }
  }

  async function hibernationRecord(sessionId: string) {
    try {
      const volume = await docker.getVolume(hibernationVolumeName(sessionId)).inspect();
      return volume.Labels?.[LABEL_SCOPE] === scope ? volume.Labels : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw platformError(`inspecting the hibernation record of ${sessionId}`, error);
    }
  }

  function ensureNetwork(): Promise<void> {
    networkReady ??= (async () => {
      try {
        await docker.getNetwork(network).inspect();
        return;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      logger.info({ network }, 'creating the sessions network');
      await docker
        .createNetwork({
          Name: network,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { [LABEL_MANAGED]: 'true', [LABEL_SCOPE]: scope },
          // Sessions of different users must not reach each other's VNC ports; the agent on
          // the host (or attached to this network) still reaches every container.
          Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        })
        .catch((error: unknown) => {
          if (statusOf(error) !== 409) throw error;
        });
    })().catch((error: unknown) => {
      networkReady = undefined;
      throw platformError(`preparing network ${network}`, error);
    });
    return networkReady;
  }

  async function requireImage(image: string): Promise<void> {
    try {
      await docker.getImage(image).inspect();
    } catch (error) {
      if (statusOf(error) === 404) throw imageNotFound(image);
      throw platformError(`inspecting image ${image}`, error);
    }
  }

  /** docker stop (SIGTERM, grace, SIGKILL) then remove; the volumes stay. */
  async function stopAndRemove(containerId: string): Promise<void> {
    expectedExits.add(containerId);
    clock.setTimeout(() => expectedExits.delete(containerId), EXPECTED_EXIT_TTL_MS);
    const container = docker.getContainer(containerId);
    try {
      await container.stop({ t: stopGraceSeconds });
    } catch (error) {
      // 304: already stopped; 404: already gone.
      if (statusOf(error) !== 304 && statusOf(error) !== 404) {
        throw platformError(`stopping container ${containerId.slice(0, 12)}`, error);
      }
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      // 409: removal already in progress (a concurrent remove); 404: gone.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) {
        throw platformError(`removing container ${containerId.slice(0, 12)}`, error);
      }
    }
  }

  async function removeVolume(name: string): Promise<void> {
    try {
      await docker.getVolume(name).remove();
    } catch (error) {
      if (statusOf(error) === 404) return;
      if (statusOf(error) === 409) {
        throw new DriverError('platform_error', `volume ${name} is in use by another container`);
      }
      throw platformError(`removing volume ${name}`, error);
    }
  }

  /** Polls the RFB banner until it answers, the container exits or the deadline passes. */
  async function waitUntilReady(
    container: Docker.Container,
    spec: SessionSpec,
  ): Promise<Docker.ContainerInspectInfo> {
    const deadline = clock.now() + startTimeoutMs;
    for (;;) {
      const info = await container.inspect();
      if (!info.State.Running) {
        const lines = await lastLogLines(container, LOG_LINES_IN_ERRORS);
        const exitCode = info.State.ExitCode ?? -1;
        // 64 and 127 are the entrypoint refusing the spec (bad configuration, no such app).
        const code = exitCode === 64 || exitCode === 127 ? 'invalid_spec' : 'platform_error';
        throw new DriverError(
          code,
          `session container stopped during start: ${describeExit(exitCode, info.State.OOMKilled)}` +
            logSuffix(lines),
        );
      }
      const ip = info.NetworkSettings.Networks[network]?.IPAddress;
      if (ip && (await answersRfb(ip, spec.vncPort, PROBE_TIMEOUT_MS))) return info;
      if (clock.now() >= deadline) {
        const lines = await lastLogLines(container, LOG_LINES_IN_ERRORS);
        throw new DriverError(
          'start_timeout',
          `session container did not answer RFB on port ${spec.vncPort} within ${startTimeoutMs} ms` +
            logSuffix(lines),
        );
      }
      await delay(PROBE_INTERVAL_MS);
    }
  }

  async function startLocked(spec: SessionSpec): Promise<StartedSession> {
    const log = logger.child({ sessionId: spec.sessionId });
    const existing = await findContainer(spec.sessionId);
    if (existing?.State.Running) {
      // Idempotent start: the running container is the session.
      const info = await waitUntilReady(docker.getContainer(existing.Id), spec);
      return { observation: observationFromContainer(spec.sessionId, info, network) };
    }
    if (existing !== undefined) await stopAndRemove(existing.Id);

    await requireImage(spec.image);
    await ensureNetwork();
    await docker
      .createVolume({
        Name: homeVolumeName(spec.homeKey),
        Labels: sessionLabels(scope, 'home', spec),
      })
      .catch((error: unknown) => {
        throw platformError(`creating home volume ${homeVolumeName(spec.homeKey)}`, error);
      });

    let container: Docker.Container;
    try {
      container = await docker.createContainer(
        containerCreateOptions(spec, { scope, network, stopGraceSeconds, shmSizeMb }),
      );
    } catch (error) {
      if (statusOf(error) === 404) throw imageNotFound(spec.image);
      throw platformError('creating the session container', error);
    }
    starting.add(container.id);
    try {
      // The VNC password travels as a file copied into the created container, not as an
      // environment variable or label: those show in `docker inspect` and env is inherited
      // by every process of the session. The file is mode 0400, owned by the session user.
      await container.putArchive(passwordArchive(spec.vncPassword, clock.now() / 1000), {
        path: '/run',
      });
      await container.start();
      const info = await waitUntilReady(container, spec);
      starting.delete(container.id);
      await removeVolume(hibernationVolumeName(spec.sessionId));
      log.info({ containerId: container.id.slice(0, 12) }, 'session container ready');
      return { observation: observationFromContainer(spec.sessionId, info, network) };
    } catch (error) {
      // Nothing keeps running after a failed start; stopAndRemove marks the exit expected
      // before `starting` stops covering it.
      await stopAndRemove(container.id).catch(() => {});
      starting.delete(container.id);
      log.warn({ err: error }, 'session container failed to start');
      if (error instanceof DriverError) throw error;
      throw platformError('starting the session container', error);
    }
  }

  async function start(spec: SessionSpec): Promise<StartedSession> {
    const parsed = SessionSpec.safeParse(spec);
    if (!parsed.success) {
      throw new DriverError('invalid_spec', `invalid session spec: ${parsed.error.message}`);
    }
    const reserved = reservedEnvNames(parsed.data);
    if (reserved.length > 0) {
      throw new DriverError('invalid_spec', `env may not set ${reserved.join(', ')}`);
    }
    // No death may slip between the container starting and the subscription opening.
    await events.ready;
    return serialized(spec.sessionId, () => startLocked(parsed.data));
  }

  return {
    platform: 'docker',
    network,
    scope,
    start,
    wake: start,

    hibernate: (sessionId) =>
      serialized(sessionId, async () => {
        const info = await findContainer(sessionId);
        if (info === undefined) {
          if ((await hibernationRecord(sessionId)) !== undefined) return;
          throw new DriverError('session_not_found', `no container for session ${sessionId}`);
        }
        const labels = info.Config.Labels ?? {};
        // The record first: if the agent dies mid-way, the session still lists as hibernated.
        await docker
          .createVolume({
            Name: hibernationVolumeName(sessionId),
            Labels: sessionLabels(scope, 'hibernation', {
              sessionId,
              userId: labels[LABEL_USER_ID] ?? '',
              templateId: labels[LABEL_TEMPLATE_ID] ?? '',
              homeKey: labels[LABEL_HOME] ?? '',
            }),
          })
          .catch((error: unknown) => {
            throw platformError('recording the hibernation', error);
          });
        await stopAndRemove(info.Id);
        logger.info({ sessionId }, 'session hibernated');
      }),

    stop: (sessionId: string, stopOptions: StopOptions) =>
      serialized(sessionId, async () => {
        const info = await findContainer(sessionId);
        const record = await hibernationRecord(sessionId);
        const homeKey =
          stopOptions.homeKey ?? info?.Config.Labels?.[LABEL_HOME] ?? record?.[LABEL_HOME];
        if (info !== undefined) await stopAndRemove(info.Id);
        if (record !== undefined) await removeVolume(hibernationVolumeName(sessionId));
        if (stopOptions.deleteHome && homeKey !== undefined && homeKey !== '') {
          await removeVolume(homeVolumeName(homeKey));
        }
        logger.info({ sessionId, deleteHome: stopOptions.deleteHome }, 'session stopped');
      }),

    inspect: async (sessionId) => {
      const info = await findContainer(sessionId);
      if (info !== undefined) return observationFromContainer(sessionId, info, network);
      const record = await hibernationRecord(sessionId);
      return record === undefined ? null : hibernatedObservation(sessionId, record);
    },

    list: async () => {
      const [containers, volumes] = await Promise.all([
        docker.listContainers({ all: true, filters: { label: scopeFilter(scope, 'session') } }),
        docker.listVolumes({ filters: { label: scopeFilter(scope, 'hibernation') } }),
      ]).catch((error: unknown) => {
        throw platformError('listing sessions', error);
      });
      const observations: SessionObservation[] = [];
      for (const summary of containers) {
        const sessionId = summary.Labels[LABEL_SESSION_ID];
        if (sessionId === undefined) continue;
        const info = await docker
          .getContainer(summary.Id)
          .inspect()
          .catch(() => undefined);
        if (info !== undefined)
          observations.push(observationFromContainer(sessionId, info, network));
      }
      const listed = new Set(observations.map((observation) => observation.sessionId));
      for (const volume of volumes.Volumes ?? []) {
        const sessionId = volume.Labels?.[LABEL_SESSION_ID];
        if (sessionId === undefined || listed.has(sessionId)) continue;
        observations.push(hibernatedObservation(sessionId, volume.Labels ?? {}));
      }
      return observations;
    },

    openStream: async (sessionId, port) => {
      const info = await findContainer(sessionId);
      const ip = info?.NetworkSettings.Networks[network]?.IPAddress;
      if (info === undefined || !info.State.Running || !ip) {
        throw new DriverError('session_not_found', `session ${sessionId} is not running`);
      }
      return new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: ip, port });
        socket.once('connect', () => resolve(socket));
        socket.once('error', (error) =>
          reject(new DriverError('platform_error', `cannot reach ${ip}:${port}: ${error.message}`)),
        );
      });
    },

    onSessionChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close: async () => {
      events.close();
      listeners.clear();
    },
  };
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

function platformError(what: string, error: unknown): DriverError {
  if (error instanceof DriverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DriverError('platform_error', `${what}: ${message}`, { cause: error });
}

function imageNotFound(image: string): DriverError {
  return new DriverError(
    'image_not_found',
    `image ${image} is not on this Docker host; the Docker driver never pulls (build or load it first)`,
  );
}

function logSuffix(lines: string[]): string {
  return lines.length === 0 ? '' : `; last log lines:\n${lines.join('\n')}`;
}
