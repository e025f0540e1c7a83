import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { OrphanSession, OrphanStatus } from '@streamspace/protocol';
import type { Database } from '../db/schema';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** Tables added by migration 0003-lifecycle; only the scheduler module reads them. */
// A type alias, not an interface: withTables<T> needs T to be an indexable record.
export type LifecycleTables = {
  orphanSessions: {
    agentId: string;
    sessionId: string;
    status: OrphanStatus;
    observedStatus: OrphanSession['observedStatus'];
    knownAs: OrphanSession['knownAs'];
    details: ColumnType<Record<string, string>, string, string>;
    reason: string;
    commandId: string | null;
    firstSeenAt: Timestamp;
    lastSeenAt: Timestamp;
    updatedAt: DefaultedTimestamp;
  };
  sessionLifecycleMarks: {
    sessionId: string;
    kind: LifecycleMarkKind;
    /** Which occurrence: the activity period, or the state-entry event id. */
    key: string;
    at: Timestamp;
  };
};

export type LifecycleMarkKind =
  'idle_warning' | 'max_warning' | 'transition_seen' | 'transition_retry';

export type LifecycleDb = Kysely<Database & LifecycleTables>;

export function lifecycleDb(db: Kysely<Database>): LifecycleDb {
  return db.withTables<LifecycleTables>();
}

/** The same transaction, typed to reach the lifecycle tables too. */
export function lifecycleTrx(trx: Transaction<Database>): Transaction<Database & LifecycleTables> {
  return trx.withTables<LifecycleTables>();
}

/**
 * Record that a once-only decision was taken. Returns false when another pass (this replica
 * or another) already took it: the caller must then not act.
 */
export async function claimMark(
  db: Kysely<Database & LifecycleTables>,
  mark: { sessionId: string; kind: LifecycleMarkKind; key: string; at: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('sessionLifecycleMarks')
    .values(mark)
    .onConflict((oc) => oc.columns(['sessionId', 'kind', 'key']).doNothing())
    .returning('sessionId')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function findMark(
  db: LifecycleDb,
  sessionId: string,
  kind: LifecycleMarkKind,
  key: string,
): Promise<Date | undefined> {
  const row = await db
    .selectFrom('sessionLifecycleMarks')
    .select('at')
    .where('sessionId', '=', sessionId)
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.at;
}
