import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '../../packages/test-kit/src/wait-for';

const REPO = resolve(import.meta.dirname, '../..');

export interface StartControlPlaneOptions {
  /** Built-in agent: `local` (Xvnc on this host), `docker`, or `none`. */
  embeddedAgent?: 'local' | 'docker' | 'none' | 'auto';
  /** Directory with the built web UI the control plane serves (STREAMSPACE_WEB_DIST). */
  webDist?: string;
  env?: Record<string, string>;
}

export interface RunningControlPlane {
  baseUrl: string;
  adminPassword: string;
  dataDir: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `apps/control-plane/src/main.ts` as a child process on free ports with a fresh data
 * directory (embedded PostgreSQL) and waits for /api/v1/ready. A stand-in until the lead's
 * e2e/support/start-system.ts exists.
 */
export async function startControlPlane(
  options: StartControlPlaneOptions = {},
): Promise<RunningControlPlane> {
  const dataDir = await mkdtemp(join(tmpdir(), 'streamspace-e2e-'));
  const adminPassword = `pw-${randomBytes(12).toString('hex')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/control-plane/src/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      STREAMSPACE_DATA_DIR: dataDir,
      STREAMSPACE_EMBEDDED_PG_PORT: String(await freePort()),
      STREAMSPACE_ADMIN_PASSWORD: adminPassword,
      STREAMSPACE_EMBEDDED_AGENT: options.embeddedAgent ?? 'none',
      STREAMSPACE_LOG_LEVEL: 'info',
      ...(options.webDist ? { STREAMSPACE_WEB_DIST: options.webDist } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let port: number | undefined;
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  watchLines(child, (line) => {
    output = (output + line + '\n').slice(-64_000);
    try {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'control plane listening' && typeof record.port === 'number') {
        port = record.port;
      }
    } catch {
      // Not a log record.
    }
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    // Fail as soon as the process dies instead of waiting out the deadline.
    const died = exited.then((code) => {
      throw new Error(`the control plane exited with ${code}`);
    });
    died.catch(() => {}); // an exit after start-up is reported by the tests that need it
    const baseUrl = await Promise.race([
      died,
      waitFor(
        'the control plane to listen',
        () => port !== undefined && `http://127.0.0.1:${port}`,
        {
          timeoutMs: 60_000,
          intervalMs: 50,
        },
      ),
    ]);
    await waitFor(
      'the control plane to be ready',
      async () => (await fetch(`${baseUrl}/api/v1/ready`)).ok,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    return { baseUrl, adminPassword, dataDir, output: () => output, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- control plane output ---\n${output}`);
  }
}

function watchLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', onLine);
  }
}

/** A port free right now on loopback (for the embedded PostgreSQL, which cannot take 0). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
