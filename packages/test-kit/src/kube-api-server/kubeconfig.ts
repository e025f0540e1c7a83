import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A kubeconfig (JSON is valid YAML) for kubectl and @kubernetes/client-node. */
export function kubeconfigFor(url: string, namespace = 'default', token?: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback; client-node refuses http: unless TLS verification is marked off.
      clusters: [
        { name: 'streamspace-test', cluster: { server: url, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'streamspace-test', user: token === undefined ? {} : { token } }],
      contexts: [
        {
          name: 'streamspace-test',
          context: { cluster: 'streamspace-test', user: 'streamspace-test', namespace },
        },
      ],
      'current-context': 'streamspace-test',
    },
    null,
    2,
  );
}

/** Writes kubeconfigFor(...) to a fresh temporary file and returns its path. */
export async function writeKubeconfig(
  url: string,
  namespace = 'default',
  token?: string,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streamspace-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(path, kubeconfigFor(url, namespace, token), { mode: 0o600 });
  return path;
}
