import { SessionSpec } from '@streamspace/protocol';
import { generatePassword } from '../auth/secrets';
import type { Db } from '../db/database';
import type { SessionChanged } from '../sessions/session-ports';
import { homeKeyFor } from '../sessions/session-spec-builder';
import { lifecycleTrx } from './lifecycle-tables';
import { SCHEDULER_ACTOR } from './lifecycle-policy';
import { formatTime } from './lifecycle-wording';

/**
 * STREAMSPACE_ORPHAN_POLICY=adopt: give the orphan a sessions row in `running`, so its owner and
 * admins can see, stop or hibernate it and the idle policy applies. Needs the owner and
 * template from the agent's report (`details.userId`, `details.templateId`). Returns why it
 * cannot be adopted, or undefined once it is.
 */
export async function adoptOrphan(
  { db, changed }: { db: Db; changed: SessionChanged },
  orphan: {
    agentId: string;
    sessionId: string;
    knownAs: string;
    details: Record<string, string>;
  },
  now: number,
): Promise<string | undefined> {
  if (orphan.knownAs === 'stopped') return 'the database says it was stopped, and stopped is final';
  const { userId, templateId } = orphan.details;
  if (userId === undefined || templateId === undefined) {
    return 'the agent did not report its userId and templateId';
  }
  const template = await db
    .selectFrom('templates')
    .selectAll()
    .where('id', '=', templateId)
    .executeTakeFirst();
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', userId)
    .executeTakeFirst();
  const agent = await db
    .selectFrom('agents')
    .select(['platform', 'name'])
    .where('id', '=', orphan.agentId)
    .executeTakeFirst();
  if (template === undefined || user === undefined || agent === undefined) {
    return `its user, template "${templateId}" or agent is unknown here`;
  }
  const homeKey = SessionSpec.shape.homeKey.safeParse(orphan.details.homeKey).success
    ? (orphan.details.homeKey as string)
    : homeKeyFor(userId, template);
  const reason = `adopted: found running on agent ${agent.name} at ${formatTime(now, now)} without a database record`;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('sessions')
      .values({
        id: orphan.sessionId,
        userId,
        templateId,
        platform: agent.platform,
        agentId: orphan.agentId,
        state: 'running',
        stateReason: reason,
        homeKey,
        // Unknown to us: viewing works after the next hibernate and wake restarts it with this one.
        vncPassword: generatePassword(8),
        details: JSON.stringify(orphan.details),
        idleTimeoutMinutes: template.idleTimeoutMinutes,
        maxDurationMinutes: template.maxDurationMinutes,
        lastActivityAt: new Date(now),
      })
      .execute();
    await trx
      .insertInto('sessionEvents')
      .values({
        sessionId: orphan.sessionId,
        kind: 'transition',
        fromState: null,
        toState: 'running',
        actor: SCHEDULER_ACTOR,
        reason,
      })
      .execute();
    await lifecycleTrx(trx)
      .updateTable('orphanSessions')
      .set({ status: 'adopted', reason, updatedAt: new Date(now) })
      .where('agentId', '=', orphan.agentId)
      .where('sessionId', '=', orphan.sessionId)
      .execute();
  });
  changed(orphan.sessionId);
  return undefined;
}
