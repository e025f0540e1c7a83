import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { kubeTool } from './kube-tools';

const run = promisify(execFile);

test('kubeTool gives runnable helm 4 and kubectl 1.35 from the npm devDependency', async () => {
  const [helm, kubectl] = await Promise.all([kubeTool('helm'), kubeTool('kubectl')]);
  assert.match(helm, /node_modules\/\.cache\/streamspace-k8s-tools\/[^/]+\/helm\/helm$/);
  const helmVersion = await run(helm, ['version', '--short'], { env: { HOME: '/nonexistent' } });
  assert.match(helmVersion.stdout, /^v4\.\d+\.\d+/);
  const kubectlVersion = await run(kubectl, ['version', '--client', '-o', 'json']);
  const client = (JSON.parse(kubectlVersion.stdout) as { clientVersion: { gitVersion: string } })
    .clientVersion;
  assert.match(client.gitVersion, /^v1\.35\./);
  // Extracted once: a second call is the same path.
  assert.equal(await kubeTool('helm'), helm);
});
