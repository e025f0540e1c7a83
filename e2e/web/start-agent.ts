import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '../../packages/test-kit/src/wait-for';
import { apiCall } from './web-system';

const REPO = resolve(import.meta.dirname, '../..');

export interface RunningAgent {
  name: string;
  output(): string;
  /** SIGTERM and wait for the process to exit (its sessions' state stays on disk). */
  stop(): Promise<void>;
}

/**
 * Enrolls and runs `streamspace-agent <platform>` (scripts/streamspace-agent) against the
 * control plane, as an admin would with the command the Agents page shows, and waits until
 * the control plane lists it online.
 */
export async function startAgent(
  apiUrl: string,
  adminToken: string,
  platform: 'local' | 'docker',
  name: string,
  options: { enrollmentToken?: string; extraArgs?: string[] } = {},
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
  const child = spawn(
    'bash',
    [
      join(REPO, 'scripts/streamspace-agent'),
      platform,
      '--url',
      apiUrl,
      '--enrollment-token',
      token,
      '--credentials-file',
      join(stateDir, 'credentials.json'),
      '--state-dir',
      join(stateDir, 'state'),
      '--name',
      name,
      '--max-sessions',
      '4',
      ...(options.extraArgs ?? []),
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output = (output + line + '\n').slice(-64_000);
    });
  }
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // Sessions outlive their agent by design (it adopts them on restart). Anything still
    // running from this agent's state directory was started by this test: end it.
    await killProcessesUsing(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `agent ${name} to be online`,
      async () => {
        if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}`);
        const { items } = (await apiCall(apiUrl, adminToken, 'GET', '/agents')) as {
          items: { name: string; status: string }[];
        };
        return items.some((agent) => agent.name === name && agent.status === 'online');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- agent output ---\n${output}`);
  }
  return { name, output: () => output, stop };
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
