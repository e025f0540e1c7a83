/** Labels on every container and volume the Docker driver makes (`docker ps --filter label=…`). */
export const LABEL_MANAGED = 'io.streamspace.managed';
export const LABEL_SESSION_ID = 'io.streamspace.session-id';
export const LABEL_USER_ID = 'io.streamspace.user-id';
export const LABEL_TEMPLATE_ID = 'io.streamspace.template-id';
export const LABEL_HOME = 'io.streamspace.home';
/** Which driver instance owns the object, so two agents on one Docker host never collide. */
export const LABEL_SCOPE = 'io.streamspace.scope';
/** `session` (container), `home` (home volume) or `hibernation` (hibernation record volume). */
export const LABEL_ROLE = 'io.streamspace.role';

export type ObjectRole = 'session' | 'home' | 'hibernation';

export function containerName(sessionId: string): string {
  return `streamspace-session-${sessionId}`;
}

export function homeVolumeName(homeKey: string): string {
  return `streamspace-home-${homeKey}`;
}

/**
 * A hibernated session has no container. An empty volume carrying the session's labels is
 * its record: it lives in the Docker engine (not the agent's memory), so list() still
 * reports the session as `stopped` after the agent restarts.
 */
export function hibernationVolumeName(sessionId: string): string {
  return `streamspace-hibernated-${sessionId}`;
}

export interface SessionLabelValues {
  sessionId: string;
  userId: string;
  templateId: string;
  homeKey: string;
}

export function sessionLabels(
  scope: string,
  role: ObjectRole,
  values: SessionLabelValues,
): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_SCOPE]: scope,
    [LABEL_ROLE]: role,
    [LABEL_SESSION_ID]: values.sessionId,
    [LABEL_USER_ID]: values.userId,
    [LABEL_TEMPLATE_ID]: values.templateId,
    [LABEL_HOME]: values.homeKey,
  };
}

/** Docker API label filter for this scope's objects of one role. */
export function scopeFilter(scope: string, role: ObjectRole): string[] {
  return [`${LABEL_MANAGED}=true`, `${LABEL_SCOPE}=${scope}`, `${LABEL_ROLE}=${role}`];
}

/** On session containers only: the RFB port inside the container (the spec's vncPort). */
export const LABEL_VNC_PORT = 'io.streamspace.vnc-port';
