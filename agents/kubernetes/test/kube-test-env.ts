import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { SessionSpec } from '@streamspace/protocol';
import {
  createKubeApiServer,
  ensureTestSessionImage,
  KUBE_SERVER_LABEL,
  testSessionSpec,
  type KubeApiServer,
  type KubeApiServerOptions,
} from '@streamspace/test-kit';
import {
  createKubernetesDriver,
  type KubernetesDriver,
  type KubernetesDriverOptions,
} from '../src/kubernetes-driver';
import { claimName, podName } from '../src/kubernetes-objects';

export const SESSIONS_NAMESPACE = 'sessions';

/** A test API server with real pods, the session image and a driver against them. */
export interface KubeTestEnv {
  server: KubeApiServer;
  kubeConfig: KubeConfig;
  docker: Docker;
  image: string;
  driver: KubernetesDriver;
  newDriver(overrides?: Partial<KubernetesDriverOptions>): KubernetesDriver;
  makeSpec(overrides?: Partial<SessionSpec>): SessionSpec;
  writeHomeFile(homeKey: string, relativePath: string, bytes: Buffer): Promise<void>;
  readHomeFile(homeKey: string, relativePath: string): Promise<Buffer | null>;
  /** docker kill of the session pod's container: the pod fails behind the driver's back. */
  killSession(sessionId: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createKubeTestEnv(
  driverOptions: Partial<KubernetesDriverOptions> = {},
  serverOptions: KubeApiServerOptions = {},
): Promise<KubeTestEnv> {
  const docker = new Docker();
  const image = await ensureTestSessionImage({ docker });
  const server = await createKubeApiServer({
    docker,
    namespaces: ['default', SESSIONS_NAMESPACE],
    ...serverOptions,
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig(SESSIONS_NAMESPACE));
  const drivers: KubernetesDriver[] = [];
  const newDriver = (overrides: Partial<KubernetesDriverOptions> = {}): KubernetesDriver => {
    const driver = createKubernetesDriver({
      kubeConfig,
      namespace: SESSIONS_NAMESPACE,
      scope: `test-${randomBytes(3).toString('hex')}`,
      stopGraceSeconds: 3,
      startTimeoutMs: 30_000,
      ...driverOptions,
      ...overrides,
    });
    drivers.push(driver);
    return driver;
  };
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const claimExists = async (homeKey: string): Promise<boolean> =>
    (await core.listNamespacedPersistentVolumeClaim({ namespace: SESSIONS_NAMESPACE })).items.some(
      (claim) => claim.metadata?.name === claimName(homeKey),
    );

  return {
    server,
    kubeConfig,
    docker,
    image,
    driver: newDriver(),
    newDriver,
    makeSpec: (overrides = {}) =>
      testSessionSpec({ image, resources: { cpuMillis: 500, memoryMb: 512 }, ...overrides }),
    writeHomeFile: async (homeKey, relativePath, bytes) => {
      if (!(await claimExists(homeKey))) {
        await core.createNamespacedPersistentVolumeClaim({
          namespace: SESSIONS_NAMESPACE,
          body: {
            metadata: { name: claimName(homeKey) },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        });
      }
      await server.writeClaimFile(
        SESSIONS_NAMESPACE,
        claimName(homeKey),
        relativePath,
        bytes,
        image,
      );
    },
    readHomeFile: async (homeKey, relativePath) => {
      if (!(await claimExists(homeKey))) return null;
      return (
        (await server.readClaimFile(SESSIONS_NAMESPACE, claimName(homeKey), relativePath, image)) ??
        null
      );
    },
    killSession: async (sessionId) => {
      const [container] = await docker.listContainers({
        filters: {
          label: [
            `${KUBE_SERVER_LABEL}=${server.serverId}`,
            `io.kubernetes.pod.name=${podName(sessionId)}`,
          ],
        },
      });
      if (container === undefined) throw new Error(`no container for session ${sessionId}`);
      await docker.getContainer(container.Id).kill();
    },
    cleanup: async () => {
      for (const driver of drivers) await driver.close();
      await server.close();
    },
  };
}
