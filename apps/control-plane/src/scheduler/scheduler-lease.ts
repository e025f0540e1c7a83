import { sql } from 'kysely';
import type { Db } from '../db/database';

export interface SchedulerLease {
  /** Take or renew the lease. True while this holder has it. */
  tryAcquire(): Promise<boolean>;
  /** Give it up now (graceful shutdown) so another replica takes over without waiting. */
  release(): Promise<void>;
}

/**
 * A named lease row in `leases` (migration 0001) so that exactly one control-plane process
 * runs a periodic job. A row, not pg_advisory_lock: a session-level advisory lock belongs to
 * one pooled connection and silently vanishes when that connection is recycled or dropped,
 * while the process still believes it holds it; a lease survives connection churn and is
 * visible to operators (`SELECT * FROM leases`). Expiry uses the database's clock, the one
 * clock every replica shares, so skew between hosts cannot produce two holders.
 */
export function createSchedulerLease({
  db,
  name,
  holder,
  ttlMs,
}: {
  db: Db;
  name: string;
  holder: string;
  /** How long the lease lasts without renewal, in ms (a crashed holder's is taken after it). */
  ttlMs: number;
}): SchedulerLease {
  const ttl = sql`make_interval(secs => ${ttlMs / 1000})`;
  return {
    async tryAcquire() {
      const result = await sql<{ holder: string }>`
        INSERT INTO leases (name, holder, expires_at)
        VALUES (${name}, ${holder}, now() + ${ttl})
        ON CONFLICT (name) DO UPDATE
          SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
          WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
        RETURNING holder
      `.execute(db);
      return result.rows[0]?.holder === holder;
    },
    async release() {
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
  };
}
