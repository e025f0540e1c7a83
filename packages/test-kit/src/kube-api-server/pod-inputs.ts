import type { DockerPodRuntime, PodSpecView, SecretFiles } from './docker-pod-runtime';
import type { KubeObject } from './kube-object';
import type { ResourceApi } from './resource-api';
import { findResourceType } from './resource-types';

const CLAIMS = findResourceType('', 'v1', 'persistentvolumeclaims')!;
const SECRETS = findResourceType('', 'v1', 'secrets')!;

/** What the container needs, resolved from the API objects the pod references. */
export interface PodInputs {
  env: string[];
  secrets: SecretFiles[];
  /** Pod volume name → Docker volume of the bound claim. */
  claimVolumes: Map<string, string>;
}

/**
 * Resolves env (values and secretKeyRef), secret volumes and claim volumes, or says why the
 * container cannot be created yet, with the kubelet's waiting reason (it retries).
 */
export async function resolvePodInputs(
  api: ResourceApi,
  runtime: DockerPodRuntime,
  pod: KubeObject,
): Promise<PodInputs | { waiting: { reason: string; message: string } }> {
  const namespace = pod.metadata.namespace;
  const spec = pod.spec as PodSpecView;
  const container = spec.containers[0]!;
  const env: string[] = [];
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      env.push(`${variable.name}=${variable.value ?? ''}`);
      continue;
    }
    const secret = api.store.get(SECRETS, namespace, ref.name);
    const value = (secret?.data as Record<string, string> | undefined)?.[ref.key];
    if (value === undefined) {
      return {
        waiting: {
          reason: 'CreateContainerConfigError',
          message: `secret "${ref.name}" not found`,
        },
      };
    }
    env.push(`${variable.name}=${Buffer.from(value, 'base64').toString('utf8')}`);
  }
  const secrets: SecretFiles[] = [];
  for (const volume of spec.volumes ?? []) {
    if (volume.secret === undefined) continue;
    const source = volume.secret;
    const secret = api.store.get(SECRETS, namespace, source.secretName);
    if (secret === undefined) {
      return {
        waiting: {
          reason: 'ContainerCreating',
          message: `MountVolume.SetUp failed for volume "${volume.name}" : secret "${source.secretName}" not found`,
        },
      };
    }
    const data = (secret.data ?? {}) as Record<string, string>;
    const items =
      source.items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
    secrets.push({
      volume: volume.name,
      files: items.map((item) => ({
        path: item.path,
        data: Buffer.from(data[item.key] ?? '', 'base64'),
        mode: item.mode ?? source.defaultMode ?? 0o644,
      })),
    });
  }
  const claimVolumes = new Map<string, string>();
  for (const volume of spec.volumes ?? []) {
    if (volume.persistentVolumeClaim === undefined) continue;
    const claimName = volume.persistentVolumeClaim.claimName;
    const claim = api.store.get(CLAIMS, namespace, claimName);
    if (claim === undefined) {
      return {
        waiting: {
          reason: 'ContainerCreating',
          message: `persistentvolumeclaim "${claimName}" not found`,
        },
      };
    }
    const name = runtime.claimVolumeName(claim.metadata.uid!);
    await runtime.ensureVolume(name);
    // The kubelet's SetVolumeOwnership for the pod's fsGroup.
    const fsGroup = spec.securityContext?.fsGroup;
    if (fsGroup !== undefined) await runtime.setVolumeGroup(name, container.image, fsGroup);
    claimVolumes.set(volume.name, name);
  }
  return { env, secrets, claimVolumes };
}
