import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Clock } from '@streamspace/protocol';
import { DriverError } from '@streamspace/session-driver';
import {
  containerName,
  hibernationVolumeName,
  homeVolumeName,
  LABEL_MANAGED,
  LABEL_SCOPE,
  LABEL_SESSION_ID,
  ownedBy,
  sessionLabels,
  type SessionLabelValues,
} from './docker-labels';

/** How long a container the driver stopped stays "expected" if no destroy event comes, in ms. */
const EXPECTED_EXIT_TTL_MS = 5 * 60_000;

export interface DockerResourceDeps {
  docker: Docker;
  network: string;
  scope: string;
  stopGraceSeconds: number;
  clock: Clock;
  logger: Logger;
  /** Create the network with inter-container traffic off (see DockerDriverOptions). */
  isolateSessions: boolean;
  /** The agent's own container, attached to the network so it reaches sessions. */
  agentContainer?: string;
  /** Called before the driver stops or removes a container, so its death is not a failure. */
  expectExit(containerId: string, ttlMs: number): void;
}

/** The Docker objects behind sessions, with Docker's errors mapped to DriverErrors. */
export type DockerResources = ReturnType<typeof createDockerResources>;

export function createDockerResources(deps: DockerResourceDeps) {
  const { docker, network, scope, stopGraceSeconds, logger } = deps;
  let networkReady: Promise<void> | undefined;

  /**
   * The session's container: by its name, else (a container started by hand with the
   * session labels) by label, so inspect and stop reach orphans too.
   */
  async function findContainer(sessionId: string) {
    try {
      try {
        const info = await docker.getContainer(containerName(sessionId)).inspect();
        // Same name, another owner (another agent's scope): not ours to report or touch.
        return ownedBy(info.Config.Labels, scope) ? info : undefined;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      const labelled = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_SESSION_ID}=${sessionId}`] },
      });
      const match = labelled.find((summary) => ownedBy(summary.Labels, scope));
      return match === undefined ? undefined : await docker.getContainer(match.Id).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw platformError(`inspecting the container of session ${sessionId}`, error);
    }
  }

  /** The labels of the session's hibernation record, if it is hibernated. */
  async function hibernationRecord(sessionId: string) {
    try {
      const volume = await docker.getVolume(hibernationVolumeName(sessionId)).inspect();
      return ownedBy(volume.Labels, scope) ? volume.Labels : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw platformError(`inspecting the hibernation record of ${sessionId}`, error);
    }
  }

  function ensureNetwork(): Promise<void> {
    networkReady ??= (async () => {
      let exists = true;
      try {
        await docker.getNetwork(network).inspect();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        exists = false;
      }
      if (!exists) {
        logger.info(
          { network, isolateSessions: deps.isolateSessions },
          'creating the sessions network',
        );
        await docker
          .createNetwork({
            Name: network,
            Driver: 'bridge',
            CheckDuplicate: true,
            Labels: { [LABEL_MANAGED]: 'true', [LABEL_SCOPE]: scope },
            // icc=false: sessions of different users cannot reach each other's VNC ports.
            // The host still reaches every container, but so would no container attached
            // to this network (an agent running in a container needs host networking).
            Options: {
              'com.docker.network.bridge.enable_icc': deps.isolateSessions ? 'false' : 'true',
            },
          })
          .catch((error: unknown) => {
            if (statusOf(error) !== 409) throw error;
          });
      }
      if (deps.agentContainer !== undefined) {
        await docker
          .getNetwork(network)
          .connect({ Container: deps.agentContainer })
          .catch((error: unknown) => {
            // 403: already attached (Docker says "endpoint … already exists").
            if (statusOf(error) !== 403 && statusOf(error) !== 409) throw error;
          });
      }
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

  async function createVolume(name: string, labels: Record<string, string>): Promise<void> {
    // Creating an existing volume returns it unchanged: this is idempotent.
    await docker.createVolume({ Name: name, Labels: labels }).catch((error: unknown) => {
      throw platformError(`creating volume ${name}`, error);
    });
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

  /**
   * Graceful: docker stop (SIGTERM, the grace period, SIGKILL) so the app flushes its files,
   * then remove. Not graceful: remove with force at once (a start that failed). Volumes stay.
   */
  async function removeContainer(containerId: string, graceful: boolean): Promise<void> {
    deps.expectExit(containerId, EXPECTED_EXIT_TTL_MS);
    const container = docker.getContainer(containerId);
    const short = containerId.slice(0, 12);
    if (graceful) {
      try {
        await container.stop({ t: stopGraceSeconds });
      } catch (error) {
        // 304: already stopped; 404: already gone.
        if (statusOf(error) !== 304 && statusOf(error) !== 404) {
          throw platformError(`stopping container ${short}`, error);
        }
      }
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      // 409: a concurrent removal is in progress; 404: gone.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) {
        throw platformError(`removing container ${short}`, error);
      }
    }
  }

  return {
    findContainer,
    hibernationRecord,
    ensureNetwork,
    requireImage,
    removeContainer,
    removeVolume,
    ensureHome: (values: SessionLabelValues) =>
      createVolume(homeVolumeName(values.homeKey), sessionLabels(scope, 'home', values)),
    recordHibernation: (values: SessionLabelValues) =>
      createVolume(
        hibernationVolumeName(values.sessionId),
        sessionLabels(scope, 'hibernation', values),
      ),
    forgetHibernation: (sessionId: string) => removeVolume(hibernationVolumeName(sessionId)),
  };
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

export function platformError(what: string, error: unknown): DriverError {
  if (error instanceof DriverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DriverError('platform_error', `${what}: ${message}`, { cause: error });
}

export function imageNotFound(image: string): DriverError {
  return new DriverError(
    'image_not_found',
    `image ${image} is not on this Docker host; the Docker driver never pulls (build or load it first)`,
  );
}
