import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';

/** Set to use an existing image (a registry build, a Podman-prefixed name) instead of building. */
export const TEST_SESSION_IMAGE_ENV = 'STREAMSPACE_TEST_SESSION_IMAGE';

export type SessionImageVariant = 'base' | 'browser';

export type SessionImageErrorCode = 'docker_unreachable' | 'image_missing' | 'build_failed';

export class SessionImageError extends Error {
  override readonly name = 'SessionImageError';

  constructor(
    readonly code: SessionImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface EnsureTestSessionImageOptions {
  /** `browser` adds Chromium (deploy/images/desktop/browser-packages.txt). Default `base`. */
  variant?: SessionImageVariant;
  /** The Docker engine to check and build into; defaults to DOCKER_HOST or the local socket. */
  docker?: Docker;
}

const BUILD_SCRIPT = fileURLToPath(
  new URL('../../../deploy/images/build-offline.sh', import.meta.url),
);
/** A cold build (debootstrap + apt) takes ~40 s here; leave room for a slow mirror. */
const BUILD_TIMEOUT_MS = 10 * 60_000;
const STDERR_TAIL_BYTES = 4096;

/** Per engine and variant: one build per process, shared by every caller. */
const builds = new WeakMap<Docker, Map<SessionImageVariant, Promise<string>>>();
let defaultDocker: Docker | undefined;

/**
 * The reference of the desktop session image (deploy/images), built without a registry the
 * first time and reused afterwards. Concurrent test processes build it once: the build
 * script holds an flock on its cache directory, and the loser of the race finds the image
 * the winner made. Rejects with a SessionImageError (`docker_unreachable` when no Docker
 * engine answers).
 */
export function ensureTestSessionImage(
  options: EnsureTestSessionImageOptions = {},
): Promise<string> {
  const variant = options.variant ?? 'base';
  const docker = options.docker ?? (defaultDocker ??= new Docker());
  let perEngine = builds.get(docker);
  if (perEngine === undefined) {
    perEngine = new Map();
    builds.set(docker, perEngine);
  }
  let build = perEngine.get(variant);
  if (build === undefined) {
    build = resolveImage(variant, docker);
    // A failure is not cached: a later call (after dockerd starts) may succeed.
    const entries = perEngine;
    build.catch(() => entries.delete(variant));
    perEngine.set(variant, build);
  }
  return build;
}

async function resolveImage(variant: SessionImageVariant, docker: Docker): Promise<string> {
  try {
    await docker.ping();
  } catch (error) {
    throw new SessionImageError(
      'docker_unreachable',
      `the Docker engine is not reachable (${engineAddress(docker)}): ` +
        'start it with `bash scripts/ensure-dockerd`',
      { cause: error },
    );
  }
  const preset = process.env[TEST_SESSION_IMAGE_ENV];
  if (preset !== undefined && preset !== '') {
    try {
      await docker.getImage(preset).inspect();
    } catch (error) {
      throw new SessionImageError(
        'image_missing',
        `${TEST_SESSION_IMAGE_ENV}=${preset} names an image the Docker engine does not have`,
        { cause: error },
      );
    }
    return preset;
  }
  return runBuildScript(variant);
}

function runBuildScript(variant: SessionImageVariant): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT, '--variant', variant], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new SessionImageError('build_failed', `cannot run ${BUILD_SCRIPT}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const reference = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && reference !== '') {
        resolve(reference);
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with ${code}`;
      reject(
        new SessionImageError(
          code === 69 && stderrTail.includes('not reachable')
            ? 'docker_unreachable'
            : 'build_failed',
          `building the session image (${variant}) ${how}:\n${stderrTail.trim()}`,
        ),
      );
    });
  });
}

function engineAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`;
  if (typeof modem.host === 'string') return `${modem.host}:${String(modem.port ?? '')}`;
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}
