/** One REST resource the test API server serves (an APIResource in discovery terms). */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural path segment: `pods`. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** Discovery categories: `all` is what `kubectl get all` expands to. */
  categories?: string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCE_TYPES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    kind: 'PersistentVolumeClaim',
    namespaced: true,
    shortNames: ['pvc'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    namespaced: true,
    shortNames: [],
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    resource: 'networkpolicies',
    singular: 'networkpolicy',
    kind: 'NetworkPolicy',
    namespaced: true,
    shortNames: ['netpol'],
  },
  // Stored only, with no controller behind them (no ReplicaSets, no pods, no RBAC checks), so
  // that `kubectl apply -f` of the whole Helm chart and the plain manifests goes through.
  {
    group: '',
    version: 'v1',
    resource: 'serviceaccounts',
    singular: 'serviceaccount',
    kind: 'ServiceAccount',
    namespaced: true,
    shortNames: ['sa'],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'statefulsets',
    singular: 'statefulset',
    kind: 'StatefulSet',
    namespaced: true,
    shortNames: ['sts'],
    categories: ['all'],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'roles',
    singular: 'role',
    kind: 'Role',
    namespaced: true,
    shortNames: [],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'rolebindings',
    singular: 'rolebinding',
    kind: 'RoleBinding',
    namespaced: true,
    shortNames: [],
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    resource: 'ingresses',
    singular: 'ingress',
    kind: 'Ingress',
    namespaced: true,
    shortNames: ['ing'],
  },
];

export function groupVersion(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export function findResourceType(
  group: string,
  version: string,
  resource: string,
): ResourceType | undefined {
  return RESOURCE_TYPES.find(
    (type) => type.group === group && type.version === version && type.resource === resource,
  );
}

export function findKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => groupVersion(type) === apiVersion && type.kind === kind);
}

/** GET /api: the legacy core group's versions. */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** GET /apis: every named group. */
export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(RESOURCE_TYPES.filter((t) => t.group !== '').map(groupVersion))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((gv) => {
      const [name, version] = gv.split('/') as [string, string];
      const entry = { groupVersion: gv, version };
      return { name, versions: [entry], preferredVersion: entry };
    }),
  };
}

/** GET /api/v1 or /apis/<group>/<version>: the resources of one group version. */
export function apiResourceList(gv: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((type) => groupVersion(type) === gv);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = types.map((type) => ({
    name: type.resource,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: VERBS,
    ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
    ...(type.categories === undefined ? {} : { categories: type.categories }),
  }));
  if (gv === 'v1') {
    resources.push(
      {
        name: 'pods/status',
        singularName: '',
        namespaced: true,
        kind: 'Pod',
        verbs: ['get', 'patch', 'update'],
      },
      {
        name: 'pods/portforward',
        singularName: '',
        namespaced: true,
        kind: 'PodPortForwardOptions',
        verbs: ['create', 'get'],
      },
    );
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}

/** The Content-Type (and Accept entry) of aggregated discovery, apidiscovery.k8s.io/v2. */
export const AGGREGATED_DISCOVERY =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Does this Accept header ask for aggregated discovery v2 (client-go since 1.30 does)? */
export function acceptsAggregatedDiscovery(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((entry) => {
    const params = entry.split(';').map((part) => part.trim());
    return (
      params[0] === 'application/json' &&
      params.includes('g=apidiscovery.k8s.io') &&
      params.includes('v=v2') &&
      params.includes('as=APIGroupDiscoveryList')
    );
  });
}

/**
 * GET /api or /apis with the aggregated discovery Accept header: every group, version and
 * resource in one document (KEP-3352), so a client needs no request per group version. `core`
 * selects the legacy group (/api) or the named groups (/apis), as the apiserver splits them.
 */
export function apiGroupDiscoveryList(core: boolean): Record<string, unknown> {
  const types = RESOURCE_TYPES.filter((type) => (type.group === '') === core);
  const groups = [...new Set(types.map((type) => type.group))];
  const responseKind = (type: ResourceType, kind = type.kind) => ({
    group: type.group,
    version: type.version,
    kind,
  });
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: group === '' ? {} : { name: group },
      versions: [
        {
          version: 'v1',
          freshness: 'Current',
          resources: types
            .filter((type) => type.group === group)
            .map((type) => ({
              resource: type.resource,
              responseKind: responseKind(type),
              scope: type.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: type.singular,
              verbs: VERBS,
              ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
              ...(type.categories === undefined ? {} : { categories: type.categories }),
              ...(type.kind === 'Pod'
                ? {
                    subresources: [
                      {
                        subresource: 'status',
                        responseKind: responseKind(type),
                        verbs: ['get', 'patch', 'update'],
                      },
                      {
                        subresource: 'portforward',
                        responseKind: responseKind(type, 'PodPortForwardOptions'),
                        verbs: ['create', 'get'],
                      },
                    ],
                  }
                : {}),
            })),
        },
      ],
    })),
  };
}

/**
 * GET /openapi/v3: the index kubectl reads to learn that the server validates fields itself
 * (cli-runtime's queryParamVerifierV3 looks for a PATCH operation of the kind with a
 * `fieldValidation` query parameter). Without it kubectl falls back to /openapi/v2 and refuses
 * `create -f` when that is missing.
 */
export function openApiIndex(): Record<string, unknown> {
  const gvs = [...new Set(RESOURCE_TYPES.map(groupVersion))];
  return {
    paths: Object.fromEntries(
      gvs.map((gv) => {
        const path = gv === 'v1' ? 'api/v1' : `apis/${gv}`;
        return [path, { serverRelativeURL: `/openapi/v3/${path}?hash=streamspace-test` }];
      }),
    ),
  };
}

export function openApiDocument(path: string): Record<string, unknown> | undefined {
  const gv = path === 'api/v1' ? 'v1' : path.replace(/^apis\//, '');
  const types = RESOURCE_TYPES.filter((type) => groupVersion(type) === gv);
  if (types.length === 0) return undefined;
  const prefix = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    const scope = type.namespaced ? '/namespaces/{namespace}' : '';
    paths[`${prefix}${scope}/${type.resource}/{name}`] = {
      patch: {
        operationId: `patch${type.kind}`,
        'x-kubernetes-group-version-kind': {
          group: type.group,
          version: type.version,
          kind: type.kind,
        },
        parameters: [
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'StreamSpace test API server', version: 'v1.30.0' },
    paths,
    components: { schemas: {} },
  };
}
