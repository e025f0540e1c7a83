import type { Session } from '@streamspace/protocol';
import type { Db } from '../db/database';

/**
 * Sessions placed on one agent, newest first. A plain mapping of the rows; the sessions
 * module may supply its own (with viewers and idle deadlines) through the routes' deps.
 */
export async function listSessionsOfAgent(db: Db, agentId: string): Promise<Session[]> {
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.userId')
    .innerJoin('templates', 'templates.id', 'sessions.templateId')
    .innerJoin('agents', 'agents.id', 'sessions.agentId')
    .select([
      'sessions.id',
      'sessions.userId',
      'users.username',
      'sessions.templateId',
      'templates.name as templateName',
      'sessions.platform',
      'sessions.agentId',
      'agents.name as agentName',
      'sessions.state',
      'sessions.stateReason',
      'sessions.createdAt',
      'sessions.updatedAt',
      'sessions.lastActivityAt',
      'sessions.idleTimeoutMinutes',
      'sessions.details',
    ])
    .where('sessions.agentId', '=', agentId)
    .orderBy('sessions.createdAt', 'desc')
    .limit(1000)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    userId: row.userId,
    username: row.username,
    templateId: row.templateId,
    templateName: row.templateName,
    platform: row.platform,
    agentId: row.agentId,
    agentName: row.agentName,
    state: row.state,
    stateReason: row.stateReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastActivityAt: row.lastActivityAt.toISOString(),
    viewerCount: 0,
    idleTimeoutMinutes: row.idleTimeoutMinutes,
    hibernateAt: null,
    stopAt: null,
    details: row.details,
  }));
}
