import type Docker from 'dockerode';
import type { KubeObject } from './kube-object';
import { parseQuantity } from './quantity';
import { createTar, readTar, type TarFile } from './tar-archive';

/** How long a SIGKILLed container's OOMKilled flag may lag its exit (see exitInfo). */
const OOM_FLAG_GRACE_MS = 1_000;

/** The label on every container, volume and network one test API server makes. */
export const KUBE_SERVER_LABEL = 'io.streamspace.test-kube-server';

export interface PodContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  ports?: { containerPort: number; name?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  readinessProbe?: {
    tcpSocket?: { port: number | string };
    periodSeconds?: number;
    initialDelaySeconds?: number;
  };
}

export interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: { medium?: string; sizeLimit?: string };
  secret?: {
    secretName: string;
    defaultMode?: number;
    items?: { key: string; path: string; mode?: number }[];
  };
}

export interface PodSpecView {
  containers: PodContainerSpec[];
  volumes?: PodVolume[];
  restartPolicy?: string;
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    runAsNonRoot?: boolean;
    fsGroup?: number;
  };
  terminationGracePeriodSeconds?: number;
}

/** Files of a secret volume, resolved by the kubelet before the container is created. */
export interface SecretFiles {
  volume: string;
  files: { path: string; data: Buffer; mode: number }[];
}

/** Docker's side of the kubelet: containers, volumes and the pod network, all labelled. */
export class DockerPodRuntime {
  constructor(
    private readonly docker: Docker,
    readonly serverId: string,
    readonly network: string,
  ) {}

  private get labels(): Record<string, string> {
    return { [KUBE_SERVER_LABEL]: this.serverId };
  }

  async ensureNetwork(): Promise<void> {
    const existing = await this.docker.listNetworks({ filters: { name: [this.network] } });
    if (existing.some((network) => network.Name === this.network)) return;
    await this.docker.createNetwork({ Name: this.network, Driver: 'bridge', Labels: this.labels });
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  claimVolumeName(claimUid: string): string {
    return `${this.network}-pvc-${claimUid}`;
  }

  async ensureVolume(name: string): Promise<void> {
    await this.docker.createVolume({ Name: name, Labels: this.labels });
  }

  async removeVolume(name: string): Promise<void> {
    await this.docker
      .getVolume(name)
      .remove()
      .catch(() => {});
  }

  /**
   * Fills a named volume with files through a never-started helper container, because Docker's
   * archive API refuses paths on a read-only root filesystem and in read-only mounts.
   */
  async writeVolume(
    volume: string,
    image: string,
    files: TarFile[],
    owner = { uid: 0, gid: 0 },
  ): Promise<void> {
    const helper = await this.docker.createContainer({
      Image: image,
      Cmd: ['true'],
      Entrypoint: [],
      Labels: this.labels,
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: volume, Target: '/volume' }],
        NetworkMode: 'none',
      },
    });
    try {
      await helper.putArchive(
        createTar(
          files.map((file) => ({
            ...file,
            uid: file.uid ?? owner.uid,
            gid: file.gid ?? owner.gid,
          })),
          owner,
        ),
        { path: '/volume' },
      );
    } finally {
      await helper.remove({ force: true });
    }
  }

  /**
   * Gives a volume's root to group `gid` with setgid and group write, as the kubelet's
   * SetVolumeOwnership does for a pod's fsGroup, so a non-root user of that group can write.
   */
  async setVolumeGroup(volume: string, image: string, gid: number): Promise<void> {
    await this.writeVolume(volume, image, [
      { path: '.', data: Buffer.alloc(0), directory: true, mode: 0o2775, uid: 0, gid },
    ]);
  }

  async readVolumeFile(volume: string, image: string, path: string): Promise<Buffer | undefined> {
    const helper = await this.docker.createContainer({
      Image: image,
      Cmd: ['true'],
      Entrypoint: [],
      Labels: this.labels,
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: volume, Target: '/volume' }],
        NetworkMode: 'none',
      },
    });
    try {
      const stream = await helper.getArchive({ path: `/volume/${path}` });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return [...readTar(Buffer.concat(chunks)).values()][0];
    } catch {
      return undefined;
    } finally {
      await helper.remove({ force: true });
    }
  }

  /** Creates (does not start) the container for the pod's first container. */
  async createContainer(
    pod: KubeObject,
    env: string[],
    secrets: SecretFiles[],
    claimVolumes: Map<string, string>,
  ): Promise<string> {
    const spec = pod.spec as PodSpecView;
    const container = spec.containers[0]!;
    const security = container.securityContext ?? {};
    const podSecurity = spec.securityContext ?? {};
    const uid = security.runAsUser ?? podSecurity.runAsUser;
    const gid = security.runAsGroup ?? podSecurity.runAsGroup;
    const limits = container.resources?.limits ?? {};
    const mounts: Docker.MountSettings[] = [];
    const tmpfs: Record<string, string> = {};
    for (const mount of container.volumeMounts ?? []) {
      const volume = (spec.volumes ?? []).find((candidate) => candidate.name === mount.name);
      if (volume?.persistentVolumeClaim !== undefined) {
        const source = claimVolumes.get(volume.name)!;
        mounts.push({
          Type: 'volume',
          Source: source,
          Target: mount.mountPath,
          ReadOnly: mount.readOnly === true,
        });
      } else if (volume?.emptyDir !== undefined) {
        const size =
          volume.emptyDir.sizeLimit === undefined
            ? ''
            : `,size=${parseQuantity(volume.emptyDir.sizeLimit)}`;
        tmpfs[mount.mountPath] = `rw,mode=1777${size}`;
      } else if (volume?.secret !== undefined) {
        const files = secrets.find((entry) => entry.volume === volume.name);
        if (files === undefined) continue;
        const source = `${this.network}-secret-${pod.metadata.uid}-${volume.name}`;
        await this.ensureVolume(source);
        await this.writeVolume(source, container.image, files.files, {
          uid: 0,
          gid: podSecurity.fsGroup ?? 0,
        });
        mounts.push({ Type: 'volume', Source: source, Target: mount.mountPath, ReadOnly: true });
      }
    }
    const created = await this.docker.createContainer({
      name: `k8s_${container.name}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid!.slice(0, 8)}`,
      Image: container.image,
      ...(container.command === undefined ? {} : { Entrypoint: container.command }),
      ...(container.args === undefined ? {} : { Cmd: container.args }),
      ...(container.workingDir === undefined ? {} : { WorkingDir: container.workingDir }),
      ...(uid === undefined ? {} : { User: gid === undefined ? String(uid) : `${uid}:${gid}` }),
      Hostname: pod.metadata.name.slice(0, 63),
      Env: env,
      Labels: {
        ...this.labels,
        'io.kubernetes.pod.uid': pod.metadata.uid!,
        'io.kubernetes.pod.name': pod.metadata.name,
      },
      HostConfig: {
        NetworkMode: this.network,
        Mounts: mounts,
        Tmpfs: tmpfs,
        ReadonlyRootfs: security.readOnlyRootFilesystem === true,
        Privileged: security.privileged === true,
        CapDrop: security.capabilities?.drop ?? [],
        CapAdd: security.capabilities?.add ?? [],
        SecurityOpt: security.allowPrivilegeEscalation === false ? ['no-new-privileges'] : [],
        ...(podSecurity.fsGroup === undefined ? {} : { GroupAdd: [String(podSecurity.fsGroup)] }),
        ...(limits.memory === undefined
          ? {}
          : { Memory: Math.round(parseQuantity(limits.memory)) }),
        ...(limits.cpu === undefined
          ? {}
          : { NanoCpus: Math.round(parseQuantity(limits.cpu) * 1e9) }),
      },
    });
    return created.id;
  }

  async start(containerId: string): Promise<{ ip: string; startedAt: string }> {
    const container = this.docker.getContainer(containerId);
    await container.start();
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks[this.network]?.IPAddress ?? '';
    return { ip, startedAt: info.State.StartedAt };
  }

  async exitInfo(
    containerId: string,
  ): Promise<{ exitCode: number; oomKilled: boolean; finishedAt: string; startedAt: string }> {
    const container = this.docker.getContainer(containerId);
    let info = await container.inspect();
    // With cgroup v2, containerd can report an OOM kill after the exit itself, so Docker may
    // set OOMKilled only after 'die': a SIGKILL exit (137) reads the flag again for a moment
    // before it counts as a plain kill (a real kubelet gets both from the runtime at once).
    const deadline = Date.now() + OOM_FLAG_GRACE_MS;
    while (info.State.ExitCode === 137 && !info.State.OOMKilled && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      info = await container.inspect();
    }
    return {
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      finishedAt: info.State.FinishedAt,
      startedAt: info.State.StartedAt,
    };
  }

  /** SIGTERM, then SIGKILL after the grace period (seconds), then removal with its volumes. */
  async stopAndRemove(containerId: string, graceSeconds: number, podUid: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    await container.stop({ t: graceSeconds }).catch(() => {});
    await container.remove({ force: true, v: true }).catch(() => {});
    const volumes = await this.docker.listVolumes({
      filters: { label: [`${KUBE_SERVER_LABEL}=${this.serverId}`] },
    });
    for (const volume of volumes.Volumes ?? []) {
      if (volume.Name.startsWith(`${this.network}-secret-${podUid}-`))
        await this.removeVolume(volume.Name);
    }
  }

  /** Streams `die` events of this server's containers until the returned function is called. */
  async watchDeaths(onDie: (containerId: string) => void): Promise<() => void> {
    const stream = (await this.docker.getEvents({
      filters: {
        type: ['container'],
        event: ['die'],
        label: [`${KUBE_SERVER_LABEL}=${this.serverId}`],
      },
    })) as NodeJS.ReadableStream & { destroy(): void };
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== '') onDie((JSON.parse(line) as { id: string }).id);
        newline = buffer.indexOf('\n');
      }
    });
    stream.on('error', () => {});
    return () => stream.destroy();
  }

  /** Removes every container, volume and the network this server made. */
  async removeAll(): Promise<void> {
    const filter = { label: [`${KUBE_SERVER_LABEL}=${this.serverId}`] };
    const containers = await this.docker.listContainers({ all: true, filters: filter });
    await Promise.all(
      containers.map((info) =>
        this.docker
          .getContainer(info.Id)
          .remove({ force: true, v: true })
          .catch(() => {}),
      ),
    );
    const volumes = await this.docker.listVolumes({ filters: filter });
    await Promise.all((volumes.Volumes ?? []).map((volume) => this.removeVolume(volume.Name)));
    const networks = await this.docker.listNetworks({ filters: filter });
    await Promise.all(
      networks.map((network) =>
        this.docker
          .getNetwork(network.Id)
          .remove()
          .catch(() => {}),
      ),
    );
  }
}
