import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface StartSystemOptions {
  /** Built-in agent of the control plane (default `local`). */
  embeddedAgent?: 'local' | 'docker' | 'none';
  /** Extra environment for the control plane. */
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart on the same state). */
  database?: TestDatabase;
  /** Let the control plane start its own embedded PostgreSQL in the data directory. */
  embeddedPostgres?: boolean;
  dataDir?: string;
  /** Run the control plane as the leader of its own process group, as a terminal runs it. */
  ownProcessGroup?: boolean;
}

export interface RunningProcess {
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
  /**
   * SIGINT to the whole process group and wait for exit, as Ctrl-C in a terminal does
   * (only for a process started with `ownProcessGroup`).
   */
  interruptGroup(): Promise<void>;
  /** The exit code, once it has exited; null while running or when a signal ended it. */
  exitCode(): number | null;
  /** Whether the process has exited (by itself or by a signal). */
  exited(): boolean;
  readonly pid: number;
}

export interface RunningSystem {
  baseUrl: string;
  port: number;
  adminPassword: string;
  database: TestDatabase;
  dataDir: string;
  controlPlane: RunningProcess;
  /** Start the control plane again on the same port, database and data directory. */
  restart(): Promise<void>;
  /** Stop everything this starter started and remove its data. */
  close(): Promise<void>;
  login(username?: string, password?: string): Promise<string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(readonly port: number) {
    super(`port ${port} is already in use`);
  }
}

/** Run a TypeScript entry point of this repository as a child process under tsx. */
export function runTs(
  entry: string,
  args: string[],
  env: Record<string, string>,
  { ownProcessGroup = false } = {},
): RunningProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, entry), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: ownProcessGroup,
    },
  );
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return {
    output: () => output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    async interruptGroup() {
      if (!ownProcessGroup) throw new Error('interruptGroup needs ownProcessGroup');
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
      await exited;
    },
    exitCode: () => child.exitCode,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    pid: child.pid ?? -1,
  };
}

/**
 * The real control plane (apps/control-plane/src/main.ts) as a child process on a free
 * loopback port with a fresh database, fast heartbeats and a built-in agent.
 */
export async function startSystem(options: StartSystemOptions = {}): Promise<RunningSystem> {
  const database: TestDatabase = options.embeddedPostgres
    ? { url: '', drop: async () => {} }
    : (options.database ?? (await createTestDatabase()));
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'streamspace-e2e-')));
  const adminPassword = `admin-${randomBytes(6).toString('hex')}`;
  // The port is chosen once and kept across restart(): agents and clients hold the URL.
  let port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    ...(options.embeddedPostgres
      ? { STREAMSPACE_EMBEDDED_PG_PORT: String(await freePort()) }
      : { DATABASE_URL: database.url }),
    STREAMSPACE_DATA_DIR: dataDir,
    STREAMSPACE_ADMIN_PASSWORD: adminPassword,
    STREAMSPACE_EMBEDDED_AGENT: options.embeddedAgent ?? 'local',
    // Detection of a stopped or killed agent does not wait for the timeout (its socket closes
    // at once); the timeout only catches a silent link. 6 s leaves room for a busy 2-core
    // machine to be late with a heartbeat without marking a healthy agent offline.
    STREAMSPACE_HEARTBEAT_INTERVAL_MS: '1000',
    STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '6000',
    STREAMSPACE_LOG_LEVEL: 'info',
    // The built-in Docker agent owns only its own containers: parallel systems share dockerd.
    STREAMSPACE_DOCKER_SCOPE: `e2e-${randomBytes(4).toString('hex')}`,
    ...options.env,
  };
  const launch = async (): Promise<RunningProcess> => {
    const processHandle = runTs('apps/control-plane/src/main.ts', [], env, {
      ownProcessGroup: options.ownProcessGroup,
    });
    // waitFor retries a throwing probe, so the outcomes that end the wait early are values.
    const outcome = await waitFor(
      `the control plane to be ready on 127.0.0.1:${port}`,
      async () => {
        const output = processHandle.output();
        if (output.includes('EADDRINUSE')) return 'port-in-use';
        if (processHandle.exited()) return 'exited';
        // Until it says it listens, whatever answers on the port is not this control plane.
        if (!output.includes('control plane listening')) return false;
        return (await fetch(`http://127.0.0.1:${port}/api/v1/ready`)).ok && 'ready';
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch((error: Error) => error);
    if (outcome === 'ready') return processHandle;
    await processHandle.stop();
    if (outcome === 'port-in-use') throw new PortInUseError(port);
    const message = outcome === 'exited' ? 'the control plane exited' : (outcome as Error).message;
    throw new Error(
      `${message}\n--- control plane output ---\n${processHandle.output().slice(-4000)}`,
    );
  };
  // freePort() releases the port before the control plane binds it, so another process can
  // take it in between (parallel test files): the first launch moves to another port then.
  const firstLaunch = async (): Promise<RunningProcess> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await launch();
      } catch (error) {
        if (!(error instanceof PortInUseError) || attempt === 5) throw error;
        port = await freePort();
        env.PORT = String(port);
      }
    }
  };
  const controlPlane = await firstLaunch();
  const baseUrl = `http://127.0.0.1:${port}`;
  const system: RunningSystem = {
    baseUrl,
    port,
    adminPassword,
    database,
    dataDir,
    controlPlane,
    async restart() {
      await system.controlPlane.stop();
      system.controlPlane = await launch();
    },
    async close() {
      await system.controlPlane.stop();
      if (options.database === undefined) await database.drop();
      if (options.dataDir === undefined)
        await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    },
    async login(username = 'admin', password = adminPassword) {
      const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (!response.ok) throw new Error(`login as ${username} failed with ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
  };
  if (env.STREAMSPACE_EMBEDDED_AGENT !== 'none') {
    // The built-in agent enrolls and dials in only after the control plane listens: a test
    // that launched a session at once raced it (409 no_agent_available). Wait for it here.
    await waitForConnectedAgent(system).catch(async (error: Error) => {
      const output = system.controlPlane.output().slice(-4000);
      await system.close();
      throw new Error(`${error.message}\n--- control plane output ---\n${output}`);
    });
  }
  return system;
}

async function waitForConnectedAgent(system: RunningSystem): Promise<void> {
  const token = await system.login();
  await waitFor(
    'the built-in agent to be connected',
    async () => {
      const response = await fetch(`${system.baseUrl}/api/v1/agents`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { items } = (await response.json()) as { items: { connected: boolean }[] };
      return items.some((agent) => agent.connected);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}
