import type { DockerPodRuntime } from './docker-pod-runtime';
import type { KubeObject } from './kube-object';
import type { ResourceApi } from './resource-api';
import { findResourceType } from './resource-types';

const CLAIMS = findResourceType('', 'v1', 'persistentvolumeclaims')!;

/**
 * The PV controller and a provisioner in one: a new claim gets a Docker volume and turns
 * Bound (volumeName pvc-<uid>), unless its storage class is the one that never binds.
 */
export function bindClaim(
  api: ResourceApi,
  runtime: DockerPodRuntime,
  claim: KubeObject,
  neverBindStorageClass: string,
  closed: () => boolean,
): void {
  const current = api.store.get(CLAIMS, claim.metadata.namespace, claim.metadata.name);
  if (current === undefined || current.metadata.uid !== claim.metadata.uid) return;
  const spec = current.spec as {
    storageClassName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  if (spec.storageClassName === neverBindStorageClass) return;
  void runtime.ensureVolume(runtime.claimVolumeName(current.metadata.uid!)).then(() => {
    const latest = api.store.get(CLAIMS, claim.metadata.namespace, claim.metadata.name);
    if (latest === undefined || latest.metadata.uid !== claim.metadata.uid || closed()) return;
    (latest.spec as { volumeName?: string }).volumeName = `pvc-${latest.metadata.uid}`;
    latest.status = {
      phase: 'Bound',
      accessModes: spec.accessModes,
      capacity: { storage: spec.resources?.requests?.storage },
    };
    api.store.update(CLAIMS, latest);
  });
}
