import { constants } from 'node:os';
import type Docker from 'dockerode';
import { DEFAULT_VNC_PORT, type SessionObservation } from '@streamspace/protocol';
import {
  homeVolumeName,
  hibernationVolumeName,
  LABEL_HOME,
  LABEL_TEMPLATE_ID,
  LABEL_USER_ID,
  LABEL_VNC_PORT,
} from './docker-labels';

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
  const details = containerDetails(labels, info.Id, info.Name, info.Config.Image, network, ip);
  if (info.State.StartedAt !== undefined) details.startedAt = info.State.StartedAt;
  if (info.State.Running) return runningObservation(sessionId, labels, ip, network, details);
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

/** The same for a running container from `docker ps` output, without an inspect call. */
export function observationFromRunningSummary(
  sessionId: string,
  summary: Docker.ContainerInfo,
  network: string,
): SessionObservation {
  const ip = summary.NetworkSettings?.Networks?.[network]?.IPAddress ?? '';
  const details = containerDetails(
    summary.Labels,
    summary.Id,
    summary.Names[0] ?? '',
    summary.Image,
    network,
    ip,
  );
  return runningObservation(sessionId, summary.Labels, ip, network, details);
}

function containerDetails(
  labels: Record<string, string>,
  id: string,
  name: string,
  image: string,
  network: string,
  ip: string,
): Record<string, string> {
  const details: Record<string, string> = {
    containerId: id.slice(0, 12),
    containerName: name.replace(/^\//, ''),
    image,
    network,
    homeVolume: homeVolumeName(labels[LABEL_HOME] ?? ''),
  };
  if (ip !== '') details.ip = ip;
  // Who and what the container was started for: lets the control plane adopt an orphan.
  const userId = labels[LABEL_USER_ID];
  const templateId = labels[LABEL_TEMPLATE_ID];
  if (userId !== undefined && userId !== '') details.userId = userId;
  if (templateId !== undefined && templateId !== '') details.templateId = templateId;
  return details;
}

function runningObservation(
  sessionId: string,
  labels: Record<string, string>,
  ip: string,
  network: string,
  details: Record<string, string>,
): SessionObservation {
  if (ip === '') {
    // Started by hand, or detached: it runs, but the agent cannot reach it.
    return {
      sessionId,
      status: 'running',
      reason: `container is not attached to network ${network}`,
      details,
    };
  }
  const port = Number(labels[LABEL_VNC_PORT] ?? DEFAULT_VNC_PORT);
  return { sessionId, status: 'running', endpoint: { host: ip, port }, details };
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
