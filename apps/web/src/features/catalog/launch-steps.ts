import { PLATFORM_DISPLAY_NAMES, type Session } from '@streamspace/protocol';

export type LaunchStepKey = 'placed' | 'starting' | 'running';
export type LaunchStepStatus = 'done' | 'current' | 'todo';

export interface LaunchStep {
  key: LaunchStepKey;
  label: string;
  status: LaunchStepStatus;
}

/**
 * The steps a launch shows, from what is known so far: `undefined` while the request is in
 * flight (the control plane is choosing an agent), then the session it created. The control
 * plane places a session and sends its start in one transaction, so a new session usually
 * arrives already `starting`; `pending` (not yet placed) still reads as the first step.
 */
export function launchSteps(
  session: Pick<Session, 'state' | 'agentName' | 'platform'> | undefined,
): LaunchStep[] {
  const placed =
    session === undefined || session.state === 'pending'
      ? 'Finding an agent'
      : `Placed on ${session.agentName ?? 'an agent'} (${PLATFORM_DISPLAY_NAMES[session.platform]})`;
  const current =
    session === undefined || session.state === 'pending'
      ? 0
      : session.state === 'starting'
        ? 1
        : session.state === 'running'
          ? 2
          : -1;
  const labels: [LaunchStepKey, string][] = [
    ['placed', placed],
    ['starting', 'Starting the desktop'],
    ['running', 'Running'],
  ];
  return labels.map(([key, label], index) => ({
    key,
    label,
    status: index < current ? 'done' : index === current ? 'current' : 'todo',
  }));
}
