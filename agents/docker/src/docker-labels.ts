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

/** The scope of a driver that was given none. */
export const DEFAULT_SCOPE = 'default';

/**
 * Whether a managed object belongs to the driver of `scope`. Objects without a scope label
 * (a container started by hand with the session labels) belong to the default scope, so
 * reconciliation sees them as orphans instead of nobody seeing them.
 */
export function ownedBy(labels: Record<string, string> | undefined, scope: string): boolean {
  if (labels?.[LABEL_MANAGED] !== 'true') return false;
  const owner = labels[LABEL_SCOPE];
  return owner === scope || (owner === undefined && scope === DEFAULT_SCOPE);
}

/** On session containers only: the RFB port inside the container (the spec's vncPort). */
export const LABEL_VNC_PORT = 'io.streamspace.vnc-port';
