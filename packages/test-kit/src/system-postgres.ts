import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's PostgreSQL server binaries (package `postgresql`). */
export const SYSTEM_POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** Ports tried before giving up: another process may take the free one picked. */
const START_ATTEMPTS = 5;

export interface SystemPostgres {
  /** URL of a database named `streamspace` on the server. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A separately started PostgreSQL from Debian's packages (initdb + pg_ctl in a temporary
 * directory, loopback only), to test the control plane's DATABASE_URL path against a server
 * it did not start. As root the server runs as the `postgres` user, as PostgreSQL requires.
 */
export async function startSystemPostgres(): Promise<SystemPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'streamspace-syspg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (binary: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(SYSTEM_POSTGRES_BIN, binary), ...args])
      : run(join(SYSTEM_POSTGRES_BIN, binary), args);
  const data = join(dir, 'data');
  // trust on loopback: a throwaway server that only this test process can reach.
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  // freePort() releases the port before PostgreSQL binds it, and another process (a parallel
  // test file, any outgoing connection) may take it in between: start again on another one.
  let port = 0;
  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    try {
      await pg('pg_ctl', [
        '-D',
        data,
        '-w',
        '-l',
        join(dir, 'server.log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        'start',
      ]);
      break;
    } catch (error) {
      if (attempt === START_ATTEMPTS) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  await pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'streamspace']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/streamspace`,
    stop: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}
