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
  type SessionDriver,
  type StartedSession,
  type StopOptions,
} from '@streamspace/session-driver';
import { containerCreateOptions, reservedEnvNames } from './container-config';
import {
  containerName,
  DEFAULT_SCOPE,
  homeVolumeName,
  LABEL_HOME,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_SESSION_ID,
  LABEL_TEMPLATE_ID,
  LABEL_USER_ID,
  ownedBy,
} from './docker-labels';
import { lastLogLines } from './docker-logs';
import { createDockerResources, imageNotFound, platformError, statusOf } from './docker-resources';
import { passwordArchive } from './password-archive';
import { answersRfb } from './rfb-readiness';
import { createSessionChangeReporter } from './session-change-reporter';
import {
  describeExit,
  hibernatedObservation,
  observationFromContainer,
  observationFromRunningSummary,
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
  /**
   * Create the sessions network with inter-container communication off (default true), so
   * one user's session cannot reach another's VNC port. The agent must then reach sessions
   * from the host: run it on the host or in a container with host networking.
   */
  isolateSessions?: boolean;
  /**
   * Id or name of the container the agent runs in (when not on host networking): it is
   * attached to the sessions network. Requires isolateSessions: false, because with
   * inter-container traffic off an attached agent could not reach the sessions either.
   */
  agentContainer?: string;
  clock?: Clock;
  logger?: Logger;
}

export interface DockerDriver extends SessionDriver {
  readonly network: string;
  readonly scope: string;
}

/** Bound on a TCP connect to a session container, in ms. */
const CONNECT_TIMEOUT_MS = 5_000;

export const DEFAULT_SESSION_NETWORK = 'streamspace-sessions';
const DEFAULT_STOP_GRACE_SECONDS = 10;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_SHM_MB = 256;
/** One RFB probe's wait for the banner, and the pause between probes, in ms. */
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 50;
const LOG_LINES_IN_ERRORS = 15;

/**
 * Sessions as containers on a dedicated bridge network (agents/docker/README.md). The agent
 * reaches each container's VNC port at its IP on that network; no port is published on the
 * host. Hibernated sessions are kept as labelled record volumes, so list() reports them as
 * `stopped` even after the agent restarts.
 */
export function createDockerDriver(options: DockerDriverOptions = {}): DockerDriver {
  const docker = options.docker ?? new Docker();
  const network = options.network ?? DEFAULT_SESSION_NETWORK;
  const scope = options.scope ?? DEFAULT_SCOPE;
  const stopGraceSeconds = options.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const shmSizeMb = options.shmSizeMb ?? DEFAULT_SHM_MB;
  const isolateSessions = options.isolateSessions ?? true;
  if (isolateSessions && options.agentContainer !== undefined) {
    throw new Error(
      'agentContainer needs isolateSessions: false (or run the agent with host networking)',
    );
  }
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ driver: 'docker', scope });

  const changes = createSessionChangeReporter({ docker, scope, clock, logger });
  /** Session id → container IP on the sessions network, learned at start and wake. */
  const endpoints = new Map<string, string>();
  changes.onSessionChange((observation) => {
    if (observation.status !== 'running') endpoints.delete(observation.sessionId);
  });
  const resources = createDockerResources({
    docker,
    network,
    scope,
    stopGraceSeconds,
    isolateSessions,
    ...(options.agentContainer === undefined ? {} : { agentContainer: options.agentContainer }),
    clock,
    logger,
    expectExit: changes.expectExit,
  });
  const locks = new Map<string, Promise<unknown>>();

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

  /** The event subscription, within the start timeout: a start never hangs on it. */
  async function eventsReady(): Promise<void> {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(
        () =>
          reject(new DriverError('platform_error', "Docker's event stream did not open in time")),
        startTimeoutMs,
      );
    });
    try {
      await Promise.race([changes.ready, timeout]);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  }

  const delay = (ms: number) =>
    new Promise<void>((resolve) => clock.setTimeout(() => resolve(), ms));

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
        const how = describeExit(exitCode, info.State.OOMKilled);
        throw new DriverError(
          code,
          `session container stopped during start: ${how}${logSuffix(lines)}`,
        );
      }
      const ip = info.NetworkSettings.Networks[network]?.IPAddress;
      if (ip && (await answersRfb(ip, spec.vncPort, PROBE_TIMEOUT_MS))) return info;
      if (clock.now() >= deadline) {
        const lines = await lastLogLines(container, LOG_LINES_IN_ERRORS);
        throw new DriverError(
          'start_timeout',
          `session container did not answer RFB on port ${spec.vncPort} within ` +
            `${startTimeoutMs} ms${logSuffix(lines)}`,
        );
      }
      await delay(PROBE_INTERVAL_MS);
    }
  }

  async function startLocked(spec: SessionSpec): Promise<StartedSession> {
    const log = logger.child({ sessionId: spec.sessionId });
    const existing = await resources.findContainer(spec.sessionId);
    if (existing?.State.Running) {
      // Idempotent start: the running container is the session.
      const info = await waitUntilReady(docker.getContainer(existing.Id), spec).catch(
        (error: unknown) => {
          throw platformError('waiting for the running session container', error);
        },
      );
      return { observation: observationFromContainer(spec.sessionId, info, network) };
    }
    // A dead container of this session (it failed, or its app exited) makes way.
    if (existing !== undefined) await resources.removeContainer(existing.Id, false);

    // Fails fast with platform_error when the engine does not answer at all.
    await resources.requireImage(spec.image);
    await resources.ensureNetwork();
    await resources.ensureHome(spec);
    // No death may slip between the container starting and the event subscription opening.
    await eventsReady();

    let container: Docker.Container;
    try {
      container = await docker.createContainer(
        containerCreateOptions(spec, { scope, network, stopGraceSeconds, shmSizeMb }),
      );
    } catch (error) {
      // The image vanished since requireImage: Docker's API never pulls on create.
      if (statusOf(error) === 404) throw imageNotFound(spec.image);
      if (statusOf(error) === 409) {
        throw new DriverError(
          'platform_error',
          `container ${containerName(spec.sessionId)} exists and belongs to another driver scope`,
        );
      }
      throw platformError('creating the session container', error);
    }
    changes.starting(container.id);
    try {
      // The VNC password travels as a file copied into the created container, not as an
      // environment variable or label: those show in `docker inspect` to anyone with API
      // access, and env is inherited by every process of the session. The file is mode
      // 0400, owned by the session user (deploy/images/README.md).
      await container.putArchive(passwordArchive(spec.vncPassword, clock.now() / 1000), {
        path: '/run',
      });
      await container.start();
      const info = await waitUntilReady(container, spec);
      changes.settled(container.id);
      // Woken: the session is no longer hibernated.
      await resources.forgetHibernation(spec.sessionId);
      log.info({ containerId: container.id.slice(0, 12) }, 'session container ready');
      return { observation: observationFromContainer(spec.sessionId, info, network) };
    } catch (error) {
      // Nothing keeps running after a failed start. removeContainer marks the exit as
      // expected before `starting` stops covering it.
      await resources.removeContainer(container.id, false).catch(() => {});
      changes.settled(container.id);
      log.warn({ err: error }, 'session container failed to start');
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
    const started = await serialized(spec.sessionId, () => startLocked(parsed.data));
    if (started.observation.endpoint !== undefined) {
      endpoints.set(spec.sessionId, started.observation.endpoint.host);
    }
    return started;
  }

  /**
   * A TCP connection to the container, bounded: an address that no longer answers fails in
   * CONNECT_TIMEOUT_MS instead of the kernel's minutes.
   */
  function connectTo(host: string, port: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new DriverError(
            'platform_error',
            `cannot reach ${host}:${port}: no answer in ${CONNECT_TIMEOUT_MS} ms`,
          ),
        );
      }, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new DriverError('platform_error', `cannot reach ${host}:${port}: ${error.message}`));
      });
    });
  }

  async function hibernateLocked(sessionId: string): Promise<void> {
    const info = await resources.findContainer(sessionId);
    if (info === undefined) {
      if ((await resources.hibernationRecord(sessionId)) !== undefined) return;
      throw new DriverError('session_not_found', `no container for session ${sessionId}`);
    }
    const labels = info.Config.Labels ?? {};
    // The record first: if the agent dies half-way, the session still lists as hibernated.
    await resources.recordHibernation({
      sessionId,
      userId: labels[LABEL_USER_ID] ?? '',
      templateId: labels[LABEL_TEMPLATE_ID] ?? '',
      homeKey: labels[LABEL_HOME] ?? '',
    });
    await resources.removeContainer(info.Id, true);
    logger.info({ sessionId }, 'session hibernated');
  }

  async function stopLocked(sessionId: string, stopOptions: StopOptions): Promise<void> {
    const info = await resources.findContainer(sessionId);
    const record = await resources.hibernationRecord(sessionId);
    const homeKey =
      stopOptions.homeKey ?? info?.Config.Labels?.[LABEL_HOME] ?? record?.[LABEL_HOME];
    if (info !== undefined) await resources.removeContainer(info.Id, true);
    if (record !== undefined) await resources.forgetHibernation(sessionId);
    if (stopOptions.deleteHome && homeKey !== undefined && homeKey !== '') {
      await resources.removeVolume(homeVolumeName(homeKey));
    }
    logger.info({ sessionId, deleteHome: stopOptions.deleteHome }, 'session stopped');
  }

  async function list(): Promise<SessionObservation[]> {
    const managed = { label: [`${LABEL_MANAGED}=true`] };
    const [containers, volumes] = await Promise.all([
      docker.listContainers({ all: true, filters: managed }),
      docker.listVolumes({
        filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_ROLE}=hibernation`] },
      }),
    ]).catch((error: unknown) => {
      throw platformError('listing sessions', error);
    });
    const observations: SessionObservation[] = [];
    for (const summary of containers) {
      const sessionId = summary.Labels[LABEL_SESSION_ID];
      if (sessionId === undefined || !ownedBy(summary.Labels, scope)) continue;
      if (summary.State === 'running') {
        observations.push(observationFromRunningSummary(sessionId, summary, network));
        continue;
      }
      // Exit code and OOM flag are only in the full inspect.
      const info = await docker
        .getContainer(summary.Id)
        .inspect()
        .catch(() => undefined);
      if (info !== undefined) observations.push(observationFromContainer(sessionId, info, network));
    }
    const listed = new Set(observations.map((observation) => observation.sessionId));
    for (const volume of volumes.Volumes ?? []) {
      const sessionId = volume.Labels?.[LABEL_SESSION_ID];
      if (sessionId === undefined || listed.has(sessionId) || !ownedBy(volume.Labels, scope)) {
        continue;
      }
      observations.push(hibernatedObservation(sessionId, volume.Labels ?? {}));
    }
    return observations;
  }

  return {
    platform: 'docker',
    network,
    scope,
    start,
    wake: start,
    hibernate: (sessionId) => {
      endpoints.delete(sessionId);
      return serialized(sessionId, () => hibernateLocked(sessionId));
    },
    stop: (sessionId, stopOptions) => {
      endpoints.delete(sessionId);
      return serialized(sessionId, () => stopLocked(sessionId, stopOptions));
    },

    inspect: async (sessionId) => {
      const info = await resources.findContainer(sessionId);
      if (info !== undefined) return observationFromContainer(sessionId, info, network);
      const record = await resources.hibernationRecord(sessionId);
      return record === undefined ? null : hibernatedObservation(sessionId, record);
    },

    list,

    openStream: async (sessionId, port) => {
      // The address from start/wake, without a Docker API call per viewer: a busy engine
      // answers inspect slowly, and a viewer waits for this. A stale one falls through.
      const cached = endpoints.get(sessionId);
      if (cached !== undefined) {
        try {
          return await connectTo(cached, port);
        } catch {
          endpoints.delete(sessionId);
        }
      }
      const info = await resources.findContainer(sessionId);
      const ip = info?.NetworkSettings.Networks[network]?.IPAddress;
      if (info === undefined || !info.State.Running || !ip) {
        throw new DriverError('session_not_found', `session ${sessionId} is not running`);
      }
      const socket = await connectTo(ip, port);
      endpoints.set(sessionId, ip);
      return socket;
    },

    onSessionChange: (listener) => changes.onSessionChange(listener),

    close: async () => changes.close(),
  };
}

function logSuffix(lines: string[]): string {
  return lines.length === 0 ? '' : `; last log lines:\n${lines.join('\n')}`;
}
