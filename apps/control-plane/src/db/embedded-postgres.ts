import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { initialiseCluster, postgresUser, startPostgres } from './postgres-process';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Start the embedded PostgreSQL whose data lives in `<dataDir>/postgres` and survives
 * restarts. The superuser password is generated once and kept beside the data (0600).
 */
export async function startEmbeddedDatabase(
  dataDir: string,
  port: number,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const databaseDir = join(dataDir, 'postgres');
  const passwordFile = join(dataDir, 'postgres.password');
  // As root, PostgreSQL runs as a `postgres` user (postgres-process.ts), which must be able to
  // traverse the data directory (0711: traverse, not list).
  const runningAsRoot = process.getuid?.() === 0;
  await mkdir(dataDir, { recursive: true, mode: runningAsRoot ? 0o711 : 0o700 });
  if (runningAsRoot) await chmod(dataDir, 0o711);
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password, { mode: 0o600 });
  }
  const runAs = await postgresUser();
  if (!initialised) await initialiseCluster(databaseDir, password, runAs);
  await stopLeftoverPostmaster(databaseDir, logger);
  const server = await startPostgres(databaseDir, port, runAs, logger);
  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const client = new pg.Client({ connectionString: url('postgres') });
  try {
    await client.connect();
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'streamspace'");
    if (exists.rowCount === 0) await client.query('CREATE DATABASE streamspace');
  } catch (error) {
    await server.stop();
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
  logger.info({ port, databaseDir, created: !initialised }, 'embedded postgres started');
  return { url: url('streamspace'), stop: () => server.stop() };
}

/**
 * A control plane that crashed (SIGKILL, power loss of the process) leaves its PostgreSQL
 * running on the data directory. Shut that postmaster down cleanly (SIGINT is PostgreSQL's
 * "fast" shutdown: abort open transactions, checkpoint, exit) so this start owns the server.
 */
async function stopLeftoverPostmaster(databaseDir: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isOurPostmaster(pid, databaseDir)) return;
  logger.warn({ pid }, 'stopping the PostgreSQL left running by a previous control plane');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (isOurPostmaster(pid, databaseDir)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL ${pid} did not shut down within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What stopLeftoverPostmaster reads about a process; undefined when it cannot be read. */
export interface ProcReader {
  cmdline(pid: number): string | undefined;
  /** The process's working directory, symlinks resolved. */
  cwd(pid: number): string | undefined;
}

const systemProc: ProcReader = {
  cmdline: (pid) => attempt(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
  cwd: (pid) => attempt(() => realpathSync(`/proc/${pid}/cwd`)),
};

/**
 * Whether `pid` (from postmaster.pid) is a postmaster serving `databaseDir`. After a reboot the
 * pid may belong to another PostgreSQL (or anything): a postmaster chdirs into its data
 * directory, so its cwd must be ours too, not just its name.
 */
export function isOurPostmaster(
  pid: number,
  databaseDir: string,
  proc: ProcReader = systemProc,
): boolean {
  if (!(proc.cmdline(pid)?.includes('postgres') ?? false)) return false;
  const cwd = proc.cwd(pid);
  return cwd !== undefined && cwd === attempt(() => realpathSync(databaseDir));
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
