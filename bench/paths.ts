import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { startEmbeddedPostgres } from '@streamspace/test-kit';
import { tcpConn, wsConn, type Conn } from './clients';
import { apiClient } from './scale-support';

/** A way from the benchmark's client to the target server. */
export interface PathUnderTest {
  name: string;
  connect(): Promise<Conn>;
  /** The processes that carry the bytes, by role (their CPU and RSS are measured). */
  processes: { role: string; pid: number }[];
  close(): Promise<void>;
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Start a TypeScript child process and wait for its first JSON line on stdout. */
export async function spawnTs<T>(
  file: string,
  args: string[],
): Promise<{ child: ChildProcess; first: T }> {
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the children.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<T>((resolve, reject) => {
    // The first JSON line; anything else (e.g. --trace-gc output) is passed through.
    const onLine = (line: string) => {
      if (!line.startsWith('{')) return void process.stderr.write(`${line}\n`);
      lines.off('line', onLine);
      lines.on('line', (rest) => process.stderr.write(`${rest}\n`));
      resolve(JSON.parse(line) as T);
    };
    lines.on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return { child, first };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startTarget(): Promise<{
  port: number;
  pid: number;
  close(): Promise<void>;
}> {
  const { child, first } = await spawnTs<{ port: number }>('bench/target-server.ts', []);
  return { port: first.port, pid: child.pid!, close: () => stopChild(child) };
}

export function directPath(targetPort: number): PathUnderTest {
  return {
    name: 'direct TCP',
    connect: () => tcpConn(targetPort),
    processes: [],
    close: async () => {},
  };
}

export async function wsBridgePath(targetPort: number): Promise<PathUnderTest> {
  const { child, first } = await spawnTs<{ port: number }>('bench/ws-bridge.ts', [
    String(targetPort),
  ]);
  return {
    name: 'ws bridge (1 hop)',
    connect: () => wsConn(`ws://127.0.0.1:${first.port}/`),
    processes: [{ role: 'bridge', pid: child.pid! }],
    close: () => stopChild(child),
  };
}

export async function websockifyPath(targetPort: number): Promise<PathUnderTest> {
  const port = await freePort();
  const child = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${targetPort}`], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  await waitUntilListening(port);
  return {
    name: 'websockify (1 hop)',
    connect: () => wsConn(`ws://127.0.0.1:${port}/`),
    processes: [{ role: 'websockify', pid: child.pid! }],
    close: () => stopChild(child),
  };
}

/**
 * The real thing: viewer WebSocket → control plane (/vnc proxy, ticket from the connect
 * endpoint) → agent link → agent runtime + stream mux → TCP target. Control plane and agent
 * run in separate processes; PostgreSQL is embedded.
 */
export async function streamspacePath(targetPort: number): Promise<PathUnderTest> {
  const postgres = await startEmbeddedPostgres();
  const adminPassword = `bench-${randomUUID()}`;
  const cp = await spawnTs<{ url: string }>('bench/cp-process.ts', [postgres.url, adminPassword]);
  const base = cp.first.url;
  const call = apiClient(base);
  const admin = (
    await call<{ token: string }>('POST', '/api/v1/auth/login', {
      username: 'admin',
      password: adminPassword,
    })
  ).token;
  const enrollment = (
    await call<{ token: string }>('POST', '/api/v1/agents/enrollment-tokens', {}, admin)
  ).token;
  const registered = await call<{ agent: { id: string }; agentSecret: string }>(
    'POST',
    '/api/v1/agents/register',
    { name: 'bench-agent', platform: 'local' },
    enrollment,
  );
  const agentId: string = registered.agent.id;

  const sessionId = randomUUID();
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  const user = await db.query(`SELECT id FROM users WHERE username = 'admin'`);
  const template = await db.query(`SELECT id FROM templates LIMIT 1`);
  await db.query(
    `INSERT INTO sessions (id, user_id, template_id, platform, agent_id, state, state_reason, home_key, vnc_password)
     VALUES ($1, $2, $3, 'local', $4, 'running', 'benchmark', 'bench', 'benchpw1')`,
    [sessionId, user.rows[0].id, template.rows[0].id, agentId],
  );
  await db.end();

  const agent = await spawnTs<{ connected: boolean }>('bench/agent-process.ts', [
    base,
    agentId,
    registered.agentSecret,
    String(targetPort),
    sessionId,
  ]);
  return {
    name: 'StreamSpace (CP + agent, 2 hops)',
    async connect() {
      const { url } = await call<{ url: string }>(
        'POST',
        `/api/v1/sessions/${sessionId}/connect`,
        undefined,
        admin,
      );
      return wsConn(`${base.replace(/^http/, 'ws')}${url}`);
    },
    processes: [
      { role: 'control plane', pid: cp.child.pid! },
      { role: 'agent', pid: agent.child.pid! },
    ],
    async close() {
      await stopChild(agent.child);
      await stopChild(cp.child);
      await postgres.stop();
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilListening(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
