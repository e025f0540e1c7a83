import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalid, KubeApiError } from './kube-status';
import { ObjectStore } from './object-store';
import { validateFields } from './field-validation';
import { dryRunOf, fieldManagerOf, isApplyPatch, patchOptions } from './patch-options';
import { attachPortForward } from './port-forward';
import { readJson } from './read-json';
import { isKubeApiError, ResourceApi } from './resource-api';
import {
  acceptsAggregatedDiscovery,
  AGGREGATED_DISCOVERY,
  apiGroupDiscoveryList,
  apiGroupList,
  apiResourceList,
  coreVersions,
  findResourceType,
  groupVersion,
  openApiDocument,
  openApiIndex,
  type ResourceType,
} from './resource-types';
import { toTable } from './table';
import { serveWatch } from './watch-stream';

export { kubeconfigFor, writeKubeconfig } from './kubeconfig';

export interface KubeApiHttpOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Namespaces that exist from the start (default: `default`). */
  namespaces?: string[];
  /** Changes kept for watches to resume from; older resourceVersions get 410 Gone. */
  historyLimit?: number;
  /** How often watches that allow bookmarks get one, in ms (default 5000; apiservers: ~60 s). */
  bookmarkIntervalMs?: number;
}

export interface KubeApiHttpServer {
  url: string;
  api: ResourceApi;
  /** Method and path of every request, for tests that assert how a client behaves. */
  requestLog: { method: string; path: string; watch: boolean }[];
  /**
   * Ends every open watch: abruptly (default; a dropped connection or an apiserver crash) or
   * cleanly (`{ abrupt: false }`, as an apiserver ends long watches). Returns how many.
   */
  dropWatches(options?: { abrupt?: boolean }): number;
  /** Watches open right now. */
  openWatches(): number;
  close(): Promise<void>;
}

interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

const NAMESPACES = findResourceType('', 'v1', 'namespaces')!;

function parseResourcePath(parts: string[]): Route | undefined {
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    version = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = findResourceType(group, version, rest[0] ?? '');
  if (type === undefined || rest.length > 3) return undefined;
  return { type, namespace, name: rest[1], subresource: rest[2] };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * The HTTP half of the test Kubernetes API server: discovery, the REST verbs on the stored
 * kinds, watches and metav1.Status errors, on 127.0.0.1 and a free port. Pods are only
 * records here; createKubeApiServer adds the Docker-backed kubelet that runs them.
 */
export async function createKubeApiHttpServer(
  options: KubeApiHttpOptions = {},
): Promise<KubeApiHttpServer> {
  const store = new ObjectStore(options.historyLimit ?? 1000);
  const api = new ResourceApi(store, () => new Date());
  for (const namespace of options.namespaces ?? ['default']) {
    api.create(NAMESPACES, undefined, { metadata: { name: namespace } });
  }
  const requestLog: KubeApiHttpServer['requestLog'] = [];
  const watchClosers = new Set<(abrupt: boolean) => void>();
  let url = '';

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const parsed = new URL(request.url ?? '/', 'http://localhost');
    const query = parsed.searchParams;
    const method = request.method ?? 'GET';
    const watch = query.get('watch') === '1' || query.get('watch') === 'true';
    requestLog.push({ method, path: parsed.pathname, watch });
    if (
      options.token !== undefined &&
      request.headers.authorization !== `Bearer ${options.token}`
    ) {
      throw new KubeApiError(401, 'Unauthorized', 'Unauthorized');
    }
    const parts = parsed.pathname
      .split('/')
      .filter((part) => part !== '')
      .map(decodeURIComponent);
    const path = parts.join('/');
    if (method === 'GET') {
      if (
        (path === 'api' || path === 'apis') &&
        acceptsAggregatedDiscovery(request.headers.accept)
      ) {
        return sendJson(response, 200, apiGroupDiscoveryList(path === 'api'), AGGREGATED_DISCOVERY);
      }
      if (path === 'api') return sendJson(response, 200, coreVersions(new URL(url).host));
      if (path === 'apis') return sendJson(response, 200, apiGroupList());
      if (path === 'version') {
        return sendJson(response, 200, {
          major: '1',
          minor: '30',
          gitVersion: 'v1.30.0-streamspace-test',
          platform: 'linux/amd64',
        });
      }
      if (path === 'healthz' || path === 'readyz' || path === 'livez') {
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        return void response.end('ok');
      }
      if (path === 'openapi/v3') return sendJson(response, 200, openApiIndex());
      if (path.startsWith('openapi/v3/')) {
        const document = openApiDocument(path.slice('openapi/v3/'.length));
        if (document !== undefined) return sendJson(response, 200, document);
      }
      const gv =
        path === 'api/v1'
          ? 'v1'
          : parts[0] === 'apis' && parts.length === 3
            ? `${parts[1]}/${parts[2]}`
            : undefined;
      const resources = gv === undefined ? undefined : apiResourceList(gv);
      if (resources !== undefined) return sendJson(response, 200, resources);
    }
    const route = parseResourcePath(parts);
    if (route === undefined) {
      throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    await handleResource(route, method, query, watch, request, response);
  }

  async function handleResource(
    route: Route,
    method: string,
    query: URLSearchParams,
    watch: boolean,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const { type, namespace, name, subresource } = route;
    if (subresource !== undefined && !(type.kind === 'Pod' && subresource === 'status')) {
      throw new KubeApiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    }
    const wantsTable = (request.headers.accept ?? '').includes('as=Table');
    const selectors = {
      labelSelector: query.get('labelSelector'),
      fieldSelector: query.get('fieldSelector'),
    };
    if (method === 'GET' && watch) {
      const sendInitialEvents = query.get('sendInitialEvents') === 'true';
      const allowBookmarks = query.get('allowWatchBookmarks') === 'true';
      if (
        sendInitialEvents &&
        (query.get('resourceVersionMatch') !== 'NotOlderThan' || !allowBookmarks)
      ) {
        // The apiserver's ListOptions validation (k8s.io/apiserver, ValidateListOptions).
        throw invalid('ListOptions', 'meta.k8s.io', '', [
          {
            reason: 'FieldValueInvalid',
            field: 'sendInitialEvents',
            message:
              'sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true',
          },
        ]);
      }
      const fieldSelector = name === undefined ? selectors.fieldSelector : `metadata.name=${name}`;
      const timeout = query.get('timeoutSeconds');
      const close = serveWatch(
        store,
        {
          type,
          namespace,
          labelSelector: selectors.labelSelector,
          fieldSelector,
          resourceVersion: query.get('resourceVersion'),
          timeoutSeconds: timeout === null ? undefined : Number(timeout),
          bookmarkIntervalMs: allowBookmarks ? (options.bookmarkIntervalMs ?? 5000) : undefined,
          sendInitialEvents,
        },
        response,
      );
      watchClosers.add(close);
      response.on('close', () => watchClosers.delete(close));
      return;
    }
    if (method === 'GET' && name === undefined) {
      const items = api.list(type, namespace, selectors);
      const resourceVersion = String(store.resourceVersion);
      if (wantsTable) return sendJson(response, 200, toTable(items, resourceVersion, type.kind));
      return sendJson(response, 200, {
        kind: `${type.kind}List`,
        apiVersion: groupVersion(type),
        metadata: { resourceVersion },
        items,
      });
    }
    if (method === 'GET') {
      const object = api.get(type, namespace, name!);
      if (wantsTable)
        return sendJson(response, 200, toTable([object], String(store.resourceVersion), type.kind));
      return sendJson(response, 200, object);
    }
    // Server-side field validation; kubectl 1.26+ asks for Strict instead of checking itself.
    const checkFields = (body: unknown): void => {
      const warnings = validateFields(type, body, query.get('fieldValidation'));
      if (warnings.length > 0) {
        response.setHeader(
          'Warning',
          warnings.map((warning) => `299 - ${JSON.stringify(warning)}`),
        );
      }
    };
    // Who writes, for metadata.managedFields.
    const manager = fieldManagerOf(query, request.headers['user-agent']);
    if (method === 'POST' && name === undefined) {
      const body = await readJson(request);
      checkFields(body);
      const dryRun = dryRunOf(query, 'CreateOptions');
      return sendJson(response, 201, api.create(type, namespace, body, { manager, dryRun }));
    }
    if (method === 'PUT' && name !== undefined) {
      const body = await readJson(request);
      const dryRun = dryRunOf(query, 'UpdateOptions');
      if (subresource !== 'status') checkFields(body);
      if (subresource === 'status') {
        const status = (body as { status?: unknown }).status;
        return sendJson(
          response,
          200,
          dryRun
            ? { ...api.get(type, namespace, name), status }
            : api.replaceStatus(type, namespace, name, status),
        );
      }
      return sendJson(response, 200, api.replace(type, namespace, name, body, { manager, dryRun }));
    }
    if (method === 'PATCH' && name !== undefined) {
      const contentType = request.headers['content-type'] ?? '';
      const apply = isApplyPatch(contentType);
      const options = patchOptions(query, apply);
      const body = await readJson(request);
      if (apply && subresource === undefined) {
        checkFields(body);
        const { object, created } = api.apply(type, namespace, name, body, options);
        return sendJson(response, created ? 201 : 200, object);
      }
      // A merge or strategic merge patch is a partial object; a JSON patch is a list of ops.
      if (subresource === undefined && !contentType.startsWith('application/json-patch')) {
        checkFields(body);
      }
      return sendJson(
        response,
        200,
        api.patch(
          type,
          namespace,
          name,
          contentType,
          body,
          subresource === 'status' ? 'status' : undefined,
          { manager, dryRun: options.dryRun },
        ),
      );
    }
    if (method === 'DELETE') {
      const body = (await readJson(request)) as { gracePeriodSeconds?: number; dryRun?: unknown };
      // kubectl sends DeleteOptions in the body; other clients put them in the query.
      const dryRun =
        dryRunOf(query, 'DeleteOptions') ||
        (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
      const queryGrace = query.get('gracePeriodSeconds');
      const grace = queryGrace !== null ? Number(queryGrace) : body.gracePeriodSeconds;
      if (name === undefined) {
        const items = api.deleteCollection(type, namespace, selectors, dryRun);
        return sendJson(response, 200, {
          kind: `${type.kind}List`,
          apiVersion: groupVersion(type),
          metadata: {},
          items,
        });
      }
      return sendJson(response, 200, api.delete(type, namespace, name, grace, dryRun));
    }
    throw new KubeApiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const failure = isKubeApiError(error)
        ? error
        : new KubeApiError(
            500,
            'InternalError',
            error instanceof Error ? error.message : String(error),
          );
      sendJson(response, failure.code, failure.toStatus());
    });
  });
  const detachPortForward = attachPortForward(server, api, options.token, (path) =>
    requestLog.push({ method: 'GET', path, watch: false }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    api,
    requestLog,
    openWatches: () => watchClosers.size,
    dropWatches: (dropOptions) => {
      const count = watchClosers.size;
      for (const close of [...watchClosers]) close(dropOptions?.abrupt ?? true);
      watchClosers.clear();
      return count;
    },
    close: async () => {
      for (const close of watchClosers) close(true);
      detachPortForward();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
