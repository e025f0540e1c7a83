import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Platform } from '@streamspace/protocol';
import { waitFor } from '@streamspace/test-kit';
import { runTs, type RunningProcess, type RunningSystem } from './start-system';

export interface AgentProcess {
  name: string;
  /** The running process; replaced by restart(). */
  process: RunningProcess;
  agentId(): Promise<string>;
  /** Start it again with the same credentials (no new enrollment). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real `streamspace-agent <platform>` process: the admin creates an enrollment token, the
 * agent enrolls with it, stores its credentials and dials the control plane.
 */
export async function startAgentProcess(
  system: RunningSystem,
  platform: Platform,
  extraArgs: string[] = [],
): Promise<AgentProcess> {
  const adminToken = await system.login();
  const response = await fetch(`${system.baseUrl}/api/v1/agents/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ expiresInMinutes: 10, maxUses: 1 }),
  });
  if (response.status !== 201) throw new Error(`enrollment token: ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  const dir = await mkdtemp(join(tmpdir(), `streamspace-agent-${platform}-`));
  const name = `e2e-${platform}-${randomBytes(3).toString('hex')}`;
  const args = [
    '--url',
    system.baseUrl,
    '--credentials-file',
    join(dir, 'credentials.json'),
    '--name',
    name,
    // A Docker agent of its own scope: other systems on this engine (parallel tests) must not
    // see its containers as theirs, nor as orphans to remove.
    ...(platform === 'docker' ? ['--scope', name] : []),
    ...extraArgs,
  ];
  const entry = `agents/${platform}/src/main.ts`;
  const env = { STREAMSPACE_LOG_LEVEL: 'info' };

  const agentRecord = async () => {
    const list = await fetch(`${system.baseUrl}/api/v1/agents`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const { items } = (await list.json()) as {
      items: { id: string; name: string; status: string }[];
    };
    return items.find((agent) => agent.name === name);
  };
  const waitOnline = async (handle: RunningProcess) =>
    waitFor(`agent ${name} to be online`, async () => (await agentRecord())?.status === 'online', {
      timeoutMs: 30_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- agent output ---\n${handle.output().slice(-3000)}`);
    });

  const first = runTs(entry, [...args, '--enrollment-token', token], env);
  await waitOnline(first);
  const agent: AgentProcess = {
    name,
    process: first,
    agentId: async () => (await agentRecord())?.id ?? '',
    async restart() {
      await agent.process.stop();
      // The record may still say online for a moment after the process died.
      await waitFor(
        `agent ${name} to be offline`,
        async () => (await agentRecord())?.status === 'offline',
        {
          timeoutMs: 30_000,
        },
      );
      agent.process = runTs(entry, args, env);
      await waitOnline(agent.process);
    },
    async close() {
      await agent.process.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return agent;
}
