import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { env as parentEnv } from 'node:process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { waitFor } from '@streamspace/test-kit';
import { apiCall } from './api-call';

const REPO = resolve(import.meta.dirname, '../..');

export interface RunningAgent {
  name: string;
  /** Its id, as the control plane lists it. */
  agentId(): Promise<string>;
  output(): string;
  /** Whether the process is not running (stopped, crashed or exited by itself). */
  exited(): boolean;
  /** SIGKILL the agent (a crash) and wait until the control plane sees its link gone. */
  crash(): Promise<void>;
  /** SIGTERM the agent and wait for it to exit; its credentials and sessions stay. */
  pause(): Promise<void>;
  /** Start it again with the saved credentials and wait until it is online. */
  resume(): Promise<void>;
  /** Stop for good: end what it left running and remove its state. */
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  /** Use this token (e.g. the one the Agents page showed) instead of creating one. */
  enrollmentToken?: string;
  extraArgs?: string[];
}

/**
 * Enrolls and runs `streamspace-agent <platform>` (scripts/streamspace-agent) against the
 * control plane, as an admin would with the command the Agents page shows, and waits until
 * the control plane lists it online. `apiUrl` is what the agent dials and where the test
 * asks about it. A small capacity (4 sessions) unless `extraArgs` say otherwise.
 */
export async function startAgent(
  apiUrl: string,
  adminToken: string,
  platform: 'local' | 'docker' | 'kubernetes',
  name: string,
  options: StartAgentOptions = {},
): Promise<RunningAgent> {
  const stateDir = await mkdtemp(join(tmpdir(), `streamspace-agent-${platform}-`));
  const token =
    options.enrollmentToken ??
    (
      (await apiCall(apiUrl, adminToken, 'POST', '/agents/enrollment-tokens', {
        expiresInMinutes: 10,
        maxUses: 1,
      })) as { token: string }
    ).token;
  const args = [
    join(REPO, 'scripts/streamspace-agent'),
    platform,
    '--url',
    apiUrl,
    '--credentials-file',
    join(stateDir, 'credentials.json'),
    '--state-dir',
    join(stateDir, 'state'),
    '--name',
    name,
    '--max-sessions',
    '4',
    // A Docker agent of its own scope (unique per run): other systems on this engine (parallel
    // tests, another engineer's run) must not see its containers as theirs, nor as orphans to
    // remove, and it must not see theirs.
    ...(platform === 'docker' ? ['--scope', `${name}-${randomBytes(4).toString('hex')}`] : []),
    ...(options.extraArgs ?? []),
  ];
  let output = '';
  let child: ChildProcess | null = null;

  /** This agent as the control plane lists it (found by its name). */
  const record = async () => {
    const { items } = (await apiCall(
      apiUrl,
      adminToken,
      'GET',
      `/agents?name=${encodeURIComponent(name)}`,
    )) as {
      items: { id: string; name: string; status: string; connected: boolean }[];
    };
    return items.find((agent) => agent.name === name);
  };

  const spawnAgent = async (enroll: boolean) => {
    // The token in the environment, as the Agents page's command passes it.
    const process = spawn('bash', args, {
      env: enroll ? { ...parentEnv, STREAMSPACE_ENROLLMENT_TOKEN: token } : parentEnv,
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = process;
    for (const stream of [process.stdout, process.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output = (output + line + '\n').slice(-64_000);
      });
    }
    await waitFor(
      `agent ${name} to be online`,
      async () => {
        if (process.exitCode !== null) throw new Error(`agent exited with ${process.exitCode}`);
        const agent = await record();
        return agent?.status === 'online' && agent.connected;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  };

  const end = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const current = child;
    child = null;
    if (current === null || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((done) => current.on('exit', () => done()));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    await waitFor(
      `agent ${name} to be disconnected`,
      async () => (await record())?.connected !== true,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  };
  const pause = () => end('SIGTERM');

  const stop = async () => {
    await pause();
    // Sessions outlive their agent by design (it adopts them on restart). Anything still
    // running from this agent's state directory was started by this test: end it.
    await killProcessesUsing(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  };

  try {
    await spawnAgent(true);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- agent output ---\n${output}`);
  }
  return {
    name,
    agentId: async () => (await record())?.id ?? '',
    output: () => output,
    exited: () => child === null || child.exitCode !== null || child.signalCode !== null,
    crash: () => end('SIGKILL'),
    pause,
    resume: () => spawnAgent(false),
    stop,
  };
}

async function killProcessesUsing(path: string): Promise<void> {
  const { stdout } = await promisify(execFile)('pgrep', ['-f', path]).catch(() => ({
    stdout: '',
  }));
  for (const pid of stdout
    .split('\n')
    .map(Number)
    .filter((pid) => pid > 0)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}
