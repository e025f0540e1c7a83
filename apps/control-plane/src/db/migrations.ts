import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './database';
import * as initial from './migrations/0001-initial';
import * as sessionDeletedAt from './migrations/0002-session-deleted-at';
import * as lifecycle from './migrations/0003-lifecycle';
import * as userMaxDuration from './migrations/0004-user-max-duration';
import * as agentCapacityFromAdmin from './migrations/0005-agent-capacity-from-admin';
import * as replicas from './migrations/0006-replicas';
import * as replicaViewers from './migrations/0007-replica-viewers';
import * as scaleIndexes from './migrations/0008-scale-indexes';
import * as pageIndexes from './migrations/0009-page-indexes';

/** Versioned migrations, applied in name order at start. Append; never edit a released one. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-session-deleted-at': sessionDeletedAt,
  '0003-lifecycle': lifecycle,
  '0004-user-max-duration': userMaxDuration,
  '0005-agent-capacity-from-admin': agentCapacityFromAdmin,
  '0006-replicas': replicas,
  '0007-replica-viewers': replicaViewers,
  '0008-scale-indexes': scaleIndexes,
  '0009-page-indexes': pageIndexes,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(db: Db): Promise<string[]> {
  // Migrations see the database untyped: they run against every earlier schema.
  const migrator = new Migrator({ db: db as unknown as Kysely<unknown>, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed`, { cause: error });
  }
  return (results ?? [])
    .filter((result) => result.status === 'Success')
    .map((r) => r.migrationName);
}
