import type Docker from 'dockerode';
import type { SessionSpec } from '@streamspace/protocol';
import { containerName, homeVolumeName, LABEL_VNC_PORT, sessionLabels } from './docker-labels';

/** Where the image contract mounts the persistent home (deploy/images/README.md). */
export const HOME_MOUNT = '/home/user';
/** Environment names the driver sets; a template's env may not override them. */
export const RESERVED_ENV_PREFIX = 'STREAMSPACE_';

const NANO_CPUS_PER_MILLI = 1_000_000;
const BYTES_PER_MIB = 1024 * 1024;
/** Processes per session: plenty for a browser, a bound for a fork bomb. */
const PIDS_LIMIT = 4096;

export interface ContainerContext {
  scope: string;
  network: string;
  /** Docker's SIGTERM→SIGKILL grace, in seconds; the entrypoint is told 2 s less. */
  stopGraceSeconds: number;
  /** /dev/shm size in MiB (Chromium needs more than Docker's 64 MiB). */
  shmSizeMb: number;
}

/**
 * The exact container the driver creates for a spec: on the sessions network with no
 * published port, CPU and memory limits from the spec, the home volume at /home/user, no
 * capabilities. The VNC password is deliberately absent (see docker-driver.ts, start).
 */
export function containerCreateOptions(
  spec: SessionSpec,
  context: ContainerContext,
): Docker.ContainerCreateOptions {
  const labels = {
    ...sessionLabels(context.scope, 'session', spec),
    [LABEL_VNC_PORT]: String(spec.vncPort),
  };
  const env = [
    ...Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
    `STREAMSPACE_GEOMETRY=${spec.geometry.width}x${spec.geometry.height}`,
    `STREAMSPACE_WM=${spec.windowManager}`,
    `STREAMSPACE_VNC_PORT=${spec.vncPort}`,
    // The entrypoint must finish its own grace (app SIGTERM → SIGKILL, then Xvnc) before
    // Docker's SIGKILL, so that a clean stop exits 0.
    `STREAMSPACE_STOP_GRACE_SECONDS=${Math.max(1, context.stopGraceSeconds - 2)}`,
  ];
  return {
    name: containerName(spec.sessionId),
    Image: spec.image,
    // The image's entrypoint runs Xvnc and the WM; the app is its arguments.
    Cmd: spec.app,
    Env: env,
    Labels: labels,
    StopTimeout: context.stopGraceSeconds,
    HostConfig: {
      NetworkMode: context.network,
      // No PortBindings and no PublishAllPorts: the VNC port is reachable only on the
      // sessions network (BRIEF.md: session ports are never exposed).
      PortBindings: {},
      PublishAllPorts: false,
      NanoCpus: spec.resources.cpuMillis * NANO_CPUS_PER_MILLI,
      Memory: spec.resources.memoryMb * BYTES_PER_MIB,
      // Equal to Memory: no swap, so the memory limit is the limit.
      MemorySwap: spec.resources.memoryMb * BYTES_PER_MIB,
      PidsLimit: PIDS_LIMIT,
      ShmSize: context.shmSizeMb * BYTES_PER_MIB,
      Mounts: [{ Type: 'volume', Source: homeVolumeName(spec.homeKey), Target: HOME_MOUNT }],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      RestartPolicy: { Name: 'no' },
      // tini in the image is PID 1; a second init would only add a process.
      Init: false,
    },
    NetworkingConfig: { EndpointsConfig: { [context.network]: {} } },
  };
}

/** Env names in a spec that would override the image contract's variables. */
export function reservedEnvNames(spec: SessionSpec): string[] {
  return Object.keys(spec.env).filter((name) => name.startsWith(RESERVED_ENV_PREFIX));
}
