import { constants } from 'node:os';
import type Docker from 'dockerode';
import type { SessionObservation } from '@streamspace/protocol';
import { homeVolumeName, hibernationVolumeName, LABEL_HOME, LABEL_VNC_PORT } from './docker-labels';

const REASON_MAX = 1024;
const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number as number, name]),
);
/** Exit codes of the session image's entrypoint (deploy/images/README.md). */
const ENTRYPOINT_CODES = new Map([
  [64, 'bad session configuration'],
  [70, 'Xvnc did not start'],
  [127, 'app not found'],
]);

/** "container exited with code 137 (OOM killed)", "… code 143 (SIGTERM)", "… code 127 (app not found)". */
export function describeExit(exitCode: number, oomKilled: boolean): string {
  let why: string | undefined;
  if (oomKilled) why = 'OOM killed';
  else if (exitCode > 128 && SIGNAL_NAMES.has(exitCode - 128)) {
    why = `killed by ${SIGNAL_NAMES.get(exitCode - 128)}`;
  } else why = ENTRYPOINT_CODES.get(exitCode);
  return `container exited with code ${exitCode}${why === undefined ? '' : ` (${why})`}`;
}

export function truncateReason(reason: string): string {
  return reason.length <= REASON_MAX ? reason : `${reason.slice(0, REASON_MAX - 1)}…`;
}

/** What inspect() and list() report for one of the driver's containers. */
export function observationFromContainer(
  sessionId: string,
  info: Docker.ContainerInspectInfo,
  network: string,
): SessionObservation {
  const labels = info.Config.Labels ?? {};
  const ip = info.NetworkSettings.Networks[network]?.IPAddress ?? '';
  const port = Number(labels[LABEL_VNC_PORT] ?? 5900);
  const details: Record<string, string> = {
    containerId: info.Id.slice(0, 12),
    containerName: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    network,
    homeVolume: homeVolumeName(labels[LABEL_HOME] ?? ''),
  };
  if (ip !== '') details.ip = ip;
  if (info.State.StartedAt !== undefined) details.startedAt = info.State.StartedAt;

  if (info.State.Running) {
    if (ip === '') {
      return {
        sessionId,
        status: 'failed',
        reason: `container is not on network ${network}`,
        details,
      };
    }
    return { sessionId, status: 'running', endpoint: { host: ip, port }, details };
  }
  if (info.State.Status === 'exited' || info.State.Status === 'dead') {
    const exitCode = info.State.ExitCode ?? -1;
    const oomKilled = info.State.OOMKilled === true;
    if (exitCode === 0 && !oomKilled) {
      return { sessionId, status: 'stopped', reason: 'the session app exited (code 0)', details };
    }
    return { sessionId, status: 'failed', reason: describeExit(exitCode, oomKilled), details };
  }
  return {
    sessionId,
    status: 'failed',
    reason: `container is ${info.State.Status} and not running`,
    details,
  };
}

/** A hibernated session: its record volume exists and its container does not. */
export function hibernatedObservation(
  sessionId: string,
  labels: Record<string, string>,
): SessionObservation {
  return {
    sessionId,
    status: 'stopped',
    reason: 'hibernated',
    details: {
      hibernationRecord: hibernationVolumeName(sessionId),
      homeVolume: homeVolumeName(labels[LABEL_HOME] ?? ''),
    },
  };
}
