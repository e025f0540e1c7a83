import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vncObfuscatedPassword } from './vnc-des';
import { waitFor } from './wait-for';

export interface TestXvncOptions {
  /** VNC Authentication password; omit for security type None. */
  password?: string;
  width?: number;
  height?: number;
  /** Extra X clients to run on the display once it is up, e.g. [['xterm', '-bg', 'red']]. */
  clients?: string[][];
  /** Extra environment for the clients (DISPLAY is set already). */
  clientEnv?: Record<string, string>;
}

export interface TestXvnc {
  display: number;
  port: number;
  pid: number;
  /** A TCP connection to the RFB port on 127.0.0.1. */
  connect(): Promise<Socket>;
  /** Kill the clients and the server; resolves once Xvnc has exited. */
  stop(): Promise<void>;
}

const ATTEMPTS = 5;
// Displays 100..899 for tests, away from the :0..:99 a developer's desktop or agent uses.
const DISPLAY_BASE = 100;
const DISPLAY_SPAN = 800;

/** A port nobody listens on right now (listen on 0, read it, close). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function displayLooksFree(display: number): boolean {
  return !existsSync(`/tmp/.X${display}-lock`) && !existsSync(`/tmp/.X11-unix/X${display}`);
}

/** Resolves with the banner once the RFB port answers, rejects when it refuses or closes. */
export function readRfbBanner(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    let received = Buffer.alloc(0);
    socket.setTimeout(2_000, () => socket.destroy(new Error('no banner within 2 s')));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 12) {
        socket.destroy();
        resolve(received.subarray(0, 12).toString('latin1'));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before the RFB banner')));
  });
}

/**
 * Start a real Xvnc (TigerVNC) for a test: a free display and port, bound to loopback,
 * optionally with VNC Authentication. Retries on a display or port taken concurrently by
 * another test process.
 */
export async function startTestXvnc(options: TestXvncOptions = {}): Promise<TestXvnc> {
  const dir = await mkdtemp(join(tmpdir(), 'streamspace-xvnc-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    let display = DISPLAY_BASE + Math.floor(Math.random() * DISPLAY_SPAN);
    while (!displayLooksFree(display)) display = DISPLAY_BASE + ((display + 1) % DISPLAY_SPAN);
    const port = await freeLoopbackPort();
    try {
      return await launch(dir, display, port, options);
    } catch (error) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`Xvnc did not start after ${ATTEMPTS} attempts`, { cause: lastError });
}

async function launch(
  dir: string,
  display: number,
  port: number,
  options: TestXvncOptions,
): Promise<TestXvnc> {
  const args = [
    `:${display}`,
    '-rfbport',
    String(port),
    '-localhost',
    '-nolisten',
    'tcp',
    '-geometry',
    `${options.width ?? 640}x${options.height ?? 480}`,
    '-depth',
    '24',
    '-AlwaysShared',
  ];
  if (options.password === undefined) {
    args.push('-SecurityTypes', 'None');
  } else {
    const passwordFile = join(dir, 'passwd');
    await writeFile(passwordFile, vncObfuscatedPassword(options.password), { mode: 0o600 });
    args.push('-SecurityTypes', 'VncAuth', '-PasswordFile', passwordFile);
  }
  const server = spawn('Xvnc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096);
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  try {
    await waitFor(
      `Xvnc :${display} RFB banner on port ${port}`,
      async () => {
        if (dead) throw new Error(`Xvnc exited: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
        return (await readRfbBanner(port)).startsWith('RFB ');
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    if (dead) throw new Error('Xvnc exited');
  } catch (error) {
    server.kill('SIGKILL');
    await exited;
    throw error;
  }

  const clients: ChildProcess[] = (options.clients ?? []).map(([command, ...rest]) =>
    spawn(command!, rest, {
      stdio: 'ignore',
      env: { ...process.env, ...options.clientEnv, DISPLAY: `:${display}` },
    }),
  );
  return {
    display,
    port,
    pid: server.pid!,
    connect: () =>
      new Promise((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      }),
    stop: async () => {
      for (const client of clients) if (client.exitCode === null) client.kill('SIGKILL');
      if (!dead) server.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
