import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database';

export interface ReplicaViewersDeps {
  db: Db;
  replicaId: string;
  logger: Logger;
  /** Viewers of the session on this replica right now (vnc.viewerCount). */
  localCount(sessionId: string): number;
}

export type ReplicaViewers = ReturnType<typeof createReplicaViewers>;

/**
 * Viewer counts across replicas (`replica_viewers`, migration 0007): each replica writes how
 * many viewers it has of a session whenever one comes or goes, and a session's count adds
 * those of the other live replicas to the local one.
 */
export function createReplicaViewers(deps: ReplicaViewersDeps) {
  const { db, replicaId } = deps;
  const logger = deps.logger.child({ module: 'replicas' });
  // Writes run one at a time so the last one holds the latest count; each writes the count
  // as it is when it runs, so a burst of changes still ends on the right value.
  let chain: Promise<void> = Promise.resolve();

  async function write(sessionId: string): Promise<void> {
    const viewers = deps.localCount(sessionId);
    if (viewers === 0) {
      await db
        .deleteFrom('replicaViewers')
        .where('replicaId', '=', replicaId)
        .where('sessionId', '=', sessionId)
        .execute();
      return;
    }
    await db
      .insertInto('replicaViewers')
      .values({ replicaId, sessionId, viewers })
      .onConflict((oc) => oc.columns(['replicaId', 'sessionId']).doUpdateSet({ viewers }))
      .execute();
  }

  return {
    /** Record this replica's viewer count of the session; resolves once it is written. */
    record(sessionId: string): Promise<void> {
      chain = chain
        .then(() => write(sessionId))
        .catch((error: unknown) =>
          logger.warn({ err: error, sessionId }, 'recording the viewer count failed'),
        );
      return chain;
    },
    /** Viewers of these sessions on the other live replicas (sessions without any left out). */
    async remoteCounts(sessionIds: readonly string[]): Promise<Map<string, number>> {
      if (sessionIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('replicaViewers')
        .innerJoin('replicas', 'replicas.id', 'replicaViewers.replicaId')
        .select([
          'replicaViewers.sessionId',
          sql<string>`sum(replica_viewers.viewers)`.as('viewers'),
        ])
        .where('replicaViewers.sessionId', 'in', sessionIds)
        .where('replicaViewers.replicaId', '<>', replicaId)
        .where(sql<boolean>`replicas.expires_at > now()`)
        .groupBy('replicaViewers.sessionId')
        .execute();
      return new Map(rows.map((row) => [row.sessionId, Number(row.viewers)]));
    },
  };
}
