import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  createKubeApiHttpServer,
  kubeTool,
  runTool,
  writeKubeconfig,
  type ToolResult,
} from '@streamspace/test-kit';

export const CHART = fileURLToPath(new URL('../../../deploy/helm/streamspace', import.meta.url));
export const PRODUCTION = `${CHART}/values-production.yaml`;
export const AGENT_MANIFEST = fileURLToPath(
  new URL('../../../deploy/kubernetes/agent.yaml', import.meta.url),
);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  [key: string]: unknown;
}

/** The kinds the chart and the plain manifests may contain, by apiVersion (all built in). */
const KNOWN_KINDS: Record<string, string[]> = {
  v1: ['Namespace', 'Secret', 'Service', 'ServiceAccount', 'PersistentVolumeClaim', 'ConfigMap'],
  'apps/v1': ['Deployment', 'StatefulSet'],
  'rbac.authorization.k8s.io/v1': ['Role', 'RoleBinding'],
  'networking.k8s.io/v1': ['Ingress', 'NetworkPolicy'],
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Every document must be YAML that parses to a known Kubernetes kind with a valid name. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    assert.deepEqual(document.errors, [], `${source}: YAML errors`);
    const value = document.toJSON() as K8sObject | null;
    if (value === null) continue;
    const where = `${source}: ${value.kind}/${value.metadata?.name}`;
    assert.ok(
      KNOWN_KINDS[value.apiVersion]?.includes(value.kind),
      `${where}: ${value.apiVersion} ${value.kind} is not a known Kubernetes kind`,
    );
    assert.match(value.metadata?.name ?? '', DNS_SUBDOMAIN, `${where}: metadata.name`);
    assert.ok(value.metadata.name.length <= 63, `${where}: name fits a label`);
    objects.push(value);
  }
  return objects;
}

let helmHome: Promise<string> | undefined;

/**
 * Runs the real `helm` (from the kube tools package) with its cache, config and data in a
 * temporary directory and no kubeconfig, so it neither reads nor writes the user's and never
 * reaches a cluster. Asynchronous so a test API server in this process keeps answering.
 */
export async function helm(...args: string[]): Promise<ToolResult> {
  const binary = await kubeTool('helm');
  helmHome ??= mkdtemp(join(tmpdir(), 'streamspace-helm-'));
  const home = await helmHome;
  return runTool(binary, args, {
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: '/dev/null',
    },
  });
}

/**
 * A test API server with namespaces `default` and `streamspace`, a kubeconfig for it, a
 * scratch directory, and the current kubectl pointed at them (its cache in the scratch dir).
 */
export async function startChartCluster(scratchPrefix: string) {
  const server = await createKubeApiHttpServer({ namespaces: ['default', 'streamspace'] });
  const kubeconfig = await writeKubeconfig(server.url, 'streamspace');
  const dir = await mkdtemp(join(tmpdir(), scratchPrefix));
  return {
    kubeconfig,
    dir,
    async kubectl(...args: string[]): Promise<ToolResult> {
      const binary = await kubeTool('kubectl');
      return runTool(
        binary,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 30_000 },
      );
    },
    async close(): Promise<void> {
      await server.close();
      await rm(dir, { recursive: true, force: true });
      await rm(join(kubeconfig, '..'), { recursive: true, force: true });
      await removeHelmHome();
    },
  };
}

export type ChartCluster = Awaited<ReturnType<typeof startChartCluster>>;

/** Removes the temporary helm home; call from an `after` hook. */
export async function removeHelmHome(): Promise<void> {
  if (helmHome !== undefined) await rm(await helmHome, { recursive: true, force: true });
  helmHome = undefined;
}

/** `helm template streamspace <chart> -n streamspace` with values files and `--set`s. */
export async function helmTemplate(
  valuesFiles: string[] = [],
  sets: string[] = [],
): Promise<ToolResult> {
  return helm(
    'template',
    'streamspace',
    CHART,
    '--namespace',
    'streamspace',
    ...valuesFiles.flatMap((file) => ['--values', file]),
    ...sets.flatMap((set) => ['--set', set]),
  );
}

/** The rendered chart's objects; fails the test when helm does. */
export async function renderChart(
  valuesFiles: string[] = [],
  sets: string[] = [],
): Promise<K8sObject[]> {
  const result = await helmTemplate(valuesFiles, sets);
  assert.equal(result.code, 0, result.stderr);
  return parseObjects(result.stdout, 'helm template');
}

export const find = (objects: K8sObject[], kind: string, suffix: string): K8sObject | undefined =>
  objects.find((object) => object.kind === kind && object.metadata.name.endsWith(suffix));

export type Container = {
  name: string;
  args?: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
};

export const containerOf = (workload: K8sObject | undefined): Container =>
  (workload?.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0]!;

/** A container's env as name → value or valueFrom. */
export const envOf = (container: Container): Record<string, unknown> =>
  Object.fromEntries(container.env.map((entry) => [entry.name, entry.value ?? entry.valueFrom]));
