import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import Docker from 'dockerode';
import type { SessionSpec } from '@streamspace/protocol';
import { ensureTestSessionImage, testSessionSpec } from '@streamspace/test-kit';
import {
  createDockerDriver,
  type DockerDriver,
  type DockerDriverOptions,
} from '../src/docker-driver';
import { containerName, homeVolumeName, LABEL_SCOPE } from '../src/docker-labels';
import { firstFileOf, tarArchive, type TarEntry } from '../src/tar-archive';

const HOME = '/home/user';

/**
 * One test file's share of the Docker engine: its own scope label and sessions network, so
 * test files run in parallel without seeing each other, and cleanup() removes everything.
 */
export interface DockerTestEnv {
  docker: Docker;
  image: string;
  scope: string;
  network: string;
  driver: DockerDriver;
  /** Another driver instance on the same scope and network (an agent restart). */
  newDriver(overrides?: Partial<DockerDriverOptions>): DockerDriver;
  makeSpec(overrides?: Partial<SessionSpec>): SessionSpec;
  writeHomeFile(homeKey: string, relativePath: string, bytes: Buffer): Promise<void>;
  readHomeFile(homeKey: string, relativePath: string): Promise<Buffer | null>;
  killSession(sessionId: string, signal?: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createDockerTestEnv(
  options: Partial<DockerDriverOptions> = {},
): Promise<DockerTestEnv> {
  const docker = new Docker();
  const image = await ensureTestSessionImage();
  const suffix = randomBytes(4).toString('hex');
  const scope = `test-${suffix}`;
  const network = `streamspace-test-${suffix}`;
  const drivers: DockerDriver[] = [];
  const newDriver = (overrides: Partial<DockerDriverOptions> = {}) => {
    const driver = createDockerDriver({
      docker,
      scope,
      network,
      stopGraceSeconds: 5,
      ...options,
      ...overrides,
    });
    drivers.push(driver);
    return driver;
  };

  /** A created, never started container of the session image with the home mounted. */
  async function withHomeContainer<T>(
    homeKey: string,
    use: (container: Docker.Container) => Promise<T>,
  ): Promise<T> {
    // Labelled so cleanup() finds it; a no-op when the driver already made the volume.
    await docker.createVolume({ Name: homeVolumeName(homeKey), Labels: { [LABEL_SCOPE]: scope } });
    const container = await docker.createContainer({
      Image: image,
      Cmd: ['true'],
      Labels: { [LABEL_SCOPE]: scope },
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [{ Type: 'volume', Source: homeVolumeName(homeKey), Target: HOME }],
      },
    });
    try {
      return await use(container);
    } finally {
      await container.remove({ force: true });
    }
  }

  return {
    docker,
    image,
    scope,
    network,
    driver: newDriver(),
    newDriver,
    makeSpec: (overrides = {}) => testSessionSpec({ image, ...overrides }),

    writeHomeFile: (homeKey, relativePath, bytes) =>
      withHomeContainer(homeKey, async (container) => {
        const entries: TarEntry[] = [];
        let dir = dirname(relativePath);
        const dirs: string[] = [];
        while (dir !== '.' && dir !== '/') {
          dirs.unshift(`${dir}/`);
          dir = dirname(dir);
        }
        for (const path of dirs) entries.push({ path, mode: 0o755 });
        entries.push({ path: relativePath, mode: 0o644, content: bytes });
        await container.putArchive(tarArchive(entries, Date.now() / 1000), { path: HOME });
      }),

    readHomeFile: async (homeKey, relativePath) => {
      try {
        await docker.getVolume(homeVolumeName(homeKey)).inspect();
      } catch {
        return null;
      }
      return withHomeContainer(homeKey, async (container) => {
        try {
          const stream = await container.getArchive({ path: `${HOME}/${relativePath}` });
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          return firstFileOf(Buffer.concat(chunks)) ?? null;
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return null;
          throw error;
        }
      });
    },

    killSession: async (sessionId, signal = 'SIGKILL') => {
      await docker.getContainer(containerName(sessionId)).kill({ signal });
    },

    cleanup: async () => {
      for (const driver of drivers) await driver.close();
      const filters = { label: [`${LABEL_SCOPE}=${scope}`] };
      for (const summary of await docker.listContainers({ all: true, filters })) {
        await docker
          .getContainer(summary.Id)
          .remove({ force: true })
          .catch(() => {});
      }
      const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
      for (const volume of volumes)
        await docker
          .getVolume(volume.Name)
          .remove()
          .catch(() => {});
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => {});
    },
  };
}
