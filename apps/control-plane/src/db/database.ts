import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

export type Db = Kysely<Database>;

// Return int8 (bigserial ids, counts) as strings to keep precision; timestamps stay Dates.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export function createDb(databaseUrl: string, maxConnections = 10): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConnections });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // A checked-out client losing its connection (PostgreSQL restarted or shut down mid-query)
  // fails that query, and pg also emits 'error' on the client, which the pool only listens
  // for while the client is idle: without this listener the process would crash on it.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
  });
  return { db, pool };
}
