import { DEFAULT_VNC_PORT, type SessionSpec } from '@streamspace/protocol';
import type { SessionRow, TemplateRow } from '../db/schema';

/** Default remote screen size; noVNC's remote resize changes it later where supported. */
export const DEFAULT_GEOMETRY = { width: 1280, height: 800 } as const;

/** The home a session mounts: one per user, or per user and template when isolated. */
export function homeKeyFor(
  userId: string,
  template: Pick<TemplateRow, 'id' | 'homeIsolation'>,
): string {
  const user = userId.replace(/-/g, '').slice(0, 24);
  return template.homeIsolation === 'template'
    ? `u${user}-${template.id}`.slice(0, 63)
    : `u${user}`;
}

/** Everything the driver needs, built from the session and its template (BRIEF: driver boundary). */
export function buildSessionSpec(session: SessionRow, template: TemplateRow): SessionSpec {
  return {
    sessionId: session.id,
    userId: session.userId,
    templateId: template.id,
    image: template.image,
    app: template.app,
    windowManager: template.windowManager,
    resources: template.resources,
    geometry: { ...DEFAULT_GEOMETRY },
    homeKey: session.homeKey,
    vncPassword: session.vncPassword,
    vncPort: DEFAULT_VNC_PORT,
    env: {},
  };
}
