import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, ClockTimer } from '@streamspace/protocol';
import type { Db } from '../db/database';

/** Expired replica rows are kept this many TTLs for operators, then deleted. */
const REAP_AFTER_TTLS = 10;

/** Who holds an agent's link, as the database says. */
export type LinkOwner =
  | { kind: 'none' }
  | { kind: 'replica'; replicaId: string; url: string }
  /** The row names a replica that stopped heartbeating (or never registered): not trusted. */
  | { kind: 'expired'; replicaId: string };

export interface ReplicaRegistryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  replicaId: string;
  /** Heartbeat period, in ms. */
  heartbeatMs: number;
  /** A replica whose heartbeat is older than this, in ms, is considered gone. */
  ttlMs: number;
}

export type ReplicaRegistry = ReturnType<typeof createReplicaRegistry>;

/**
 * This process's row in `replicas` (migration 0006), kept alive by a heartbeat, and the
 * lookup of which live replica holds an agent's link (`agents.connected_replica`, which the
 * hub sets at hello). Expiry uses the database's clock, the one clock every replica shares
 * (like scheduler-lease.ts), so skew between hosts cannot make a dead replica look alive.
 */
export function createReplicaRegistry(deps: ReplicaRegistryDeps) {
  const { db, clock, replicaId, heartbeatMs, ttlMs } = deps;
  const logger = deps.logger.child({ module: 'replicas', replicaId });
  const ttl = sql`make_interval(secs => ${ttlMs / 1000})`;
  let url: string | undefined;
  let timer: ClockTimer | undefined;
  let stopped = false;

  async function beat(): Promise<void> {
    if (url === undefined) return;
    await sql`
      INSERT INTO replicas (id, url, started_at, heartbeat_at, expires_at)
      VALUES (${replicaId}, ${url}, now(), now(), now() + ${ttl})
      ON CONFLICT (id) DO UPDATE
        SET url = EXCLUDED.url, heartbeat_at = now(), expires_at = now() + ${ttl}
    `.execute(db);
    await sql`
      DELETE FROM replicas WHERE expires_at < now() - ${ttl} * ${REAP_AFTER_TTLS}
    `.execute(db);
  }

  function schedule(): void {
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      beat()
        .catch((error: unknown) => logger.warn({ err: error }, 'replica heartbeat failed'))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, heartbeatMs);
  }

  return {
    replicaId,
    /** Register under the internal URL other replicas reach this one on, then heartbeat. */
    async start(internalUrl: string): Promise<void> {
      url = internalUrl;
      await beat();
      logger.info({ url }, 'replica registered');
      schedule();
    },
    /** Which replica holds the agent's link, and whether its heartbeat is still trusted. */
    async ownerOf(agentId: string): Promise<LinkOwner> {
      const row = await db
        .selectFrom('agents')
        .leftJoin('replicas', 'replicas.id', 'agents.connectedReplica')
        .select([
          'agents.connectedReplica as owner',
          'replicas.url as url',
          sql<boolean>`coalesce(replicas.expires_at > now(), false)`.as('alive'),
        ])
        .where('agents.id', '=', agentId)
        .where('agents.status', '=', 'online')
        .executeTakeFirst();
      if (row === undefined || row.owner === null) return { kind: 'none' };
      if (!row.alive || row.url === null) return { kind: 'expired', replicaId: row.owner };
      return { kind: 'replica', replicaId: row.owner, url: row.url };
    },
    /** Stop heartbeating and remove this replica's row (graceful shutdown). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      if (url === undefined) return;
      await db
        .deleteFrom('replicas')
        .where('id', '=', replicaId)
        .execute()
        .catch((error: unknown) => logger.warn({ err: error }, 'removing the replica row failed'));
    },
  };
}
