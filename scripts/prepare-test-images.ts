// Builds the Docker images the tests use before the test runner starts, once and in the
// open: a cold build of the session image (debootstrap + apt) takes minutes on a loaded
// machine, longer than the per-test timeout of the before hook that would otherwise do it.
// With the images present this is a no-op of well under a second.
// Usage: npx tsx scripts/prepare-test-images.ts [the test files or folders scripts/test got]
import { spawn } from 'node:child_process';
import { relative, resolve, sep } from 'node:path';
import Docker from 'dockerode';
import { ensureBusyboxImage } from '../packages/test-kit/src/kube-api-server/busybox-image';
import {
  TEST_SESSION_IMAGE_ENV,
  type SessionImageVariant,
} from '../packages/test-kit/src/session-image';

/** Every variant a test asks ensureTestSessionImage() for (all use the default, `base`). */
const SESSION_IMAGE_VARIANTS: readonly SessionImageVariant[] = ['base'];
/** Test folders whose files build or need these images. */
const IMAGE_USERS = ['e2e', 'agents/docker', 'agents/kubernetes', 'packages/test-kit'];
const REPO = resolve(import.meta.dirname, '..');
const BUILD_SCRIPT = resolve(REPO, 'deploy/images/build-offline.sh');

function needsImages(requested: string[]): boolean {
  if (requested.length === 0) return true;
  return requested.some((arg) => {
    const path = relative(REPO, resolve(arg)).split(sep).join('/');
    return IMAGE_USERS.some(
      (user) =>
        path === '' || user.startsWith(`${path}/`) || path === user || path.startsWith(`${user}/`),
    );
  });
}

function buildSessionImage(variant: SessionImageVariant): Promise<string> {
  return new Promise((done, fail) => {
    // stderr is the build's progress (debootstrap, apt): show it; stdout ends with the reference.
    const child = spawn('bash', [BUILD_SCRIPT, '--variant', variant], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      const reference = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && reference !== '') done(reference);
      else fail(new Error(`${BUILD_SCRIPT} --variant ${variant} exited with ${code}`));
    });
  });
}

async function step(what: string, run: () => Promise<string>): Promise<boolean> {
  const started = Date.now();
  console.log(`test images: ${what} ...`);
  try {
    const reference = await run();
    console.log(
      `test images: ${what}: ${reference} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return true;
  } catch (error) {
    // The tests that need the image report the failure themselves; the others still run.
    console.log(`test images: ${what} FAILED: ${(error as Error).message}`);
    return false;
  }
}

if (!needsImages(process.argv.slice(2))) process.exit(0);
const docker = new Docker();
try {
  await docker.ping();
} catch {
  console.log(
    'test images: the Docker engine is not reachable; the tests will build what they need',
  );
  process.exit(0);
}
const preset = process.env[TEST_SESSION_IMAGE_ENV];
for (const variant of SESSION_IMAGE_VARIANTS) {
  if (preset !== undefined && preset !== '') {
    console.log(
      `test images: session image: ${TEST_SESSION_IMAGE_ENV}=${preset}, nothing to build`,
    );
    break;
  }
  await step(`session image (${variant})`, () => buildSessionImage(variant));
}
await step('busybox image (Kubernetes test API server pods)', () => ensureBusyboxImage(docker));
