import type { KubeObject } from './kube-object';

interface Column {
  name: string;
  type: string;
  format?: string;
  cell: (object: KubeObject, now: number) => string | number;
}

interface PodStatus {
  phase?: string;
  reason?: string;
  containerStatuses?: {
    ready?: boolean;
    restartCount?: number;
    state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
  }[];
}

// The age column as kubectl prints it (k8s.io/apimachinery/pkg/util/duration.HumanDuration).
function age(object: KubeObject, now: number): string {
  const created = Date.parse(object.metadata.creationTimestamp ?? '');
  const seconds = Math.max(0, Math.floor((now - created) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

function podStatus(object: KubeObject): string {
  if (object.metadata.deletionTimestamp !== undefined) return 'Terminating';
  const status = (object.status ?? {}) as PodStatus;
  for (const container of status.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason ?? container.state?.terminated?.reason;
    if (reason !== undefined) return reason;
  }
  return status.reason ?? status.phase ?? 'Unknown';
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', cell: age };

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses = ((o.status ?? {}) as PodStatus).containerStatuses ?? [];
        const total = ((o.spec as { containers?: unknown[] }).containers ?? []).length;
        return `${statuses.filter((s) => s.ready === true).length}/${total}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(
          (((o.status ?? {}) as PodStatus).containerStatuses ?? []).reduce(
            (sum, s) => sum + (s.restartCount ?? 0),
            0,
          ),
        ),
    },
    AGE,
  ],
  PersistentVolumeClaim: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => (o.status as { phase?: string }).phase ?? '' },
    {
      name: 'Volume',
      type: 'string',
      cell: (o) => (o.spec as { volumeName?: string }).volumeName ?? '',
    },
    AGE,
  ],
};

/**
 * The meta.k8s.io/v1 Table kubectl asks for (`Accept: application/json;as=Table;…`) so that
 * `kubectl get` prints columns the way it does against a real cluster.
 */
export function toTable(
  objects: KubeObject[],
  resourceVersion: string,
  kind: string,
): Record<string, unknown> {
  const columns = COLUMNS[kind] ?? [NAME, AGE];
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((column) => ({
      name: column.name,
      type: column.type,
      format: column.format ?? '',
      description: '',
      priority: 0,
    })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object, now)),
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: object.metadata,
      },
    })),
  };
}
