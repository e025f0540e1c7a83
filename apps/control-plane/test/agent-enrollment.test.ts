import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { enrollAgent, EnrollmentError, readCredentialsFile } from '@streamspace/agent-runtime';
import { createTestDatabase, waitFor, type TestDatabase } from '@streamspace/test-kit';
import { api, startControlPlane, type ControlPlane } from './agent-test-harness';

const FIXTURE = fileURLToPath(new URL('./agent-cli-fixture.ts', import.meta.url));

describe('agent enrollment and the agent CLI', () => {
  let database: TestDatabase;
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    database = await createTestDatabase();
    cp = await startControlPlane(database, {
      env: { STREAMSPACE_HEARTBEAT_TIMEOUT_MS: '60000' },
    });
    dir = await mkdtemp(join(tmpdir(), 'streamspace-agent-cli-'));
  });
  after(async () => {
    await cp?.app.stop();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const newToken = async () =>
    (
      (
        await api(cp.url, 'POST', '/api/v1/agents/enrollment-tokens', {
          token: cp.adminToken,
          body: { maxUses: 1 },
        })
      ).body as { token: string }
    ).token;

  it('enrollAgent returns a new identity; reusing the token for that id is refused clearly', async () => {
    const token = await newToken();
    const enrolled = await enrollAgent({
      controlPlaneUrl: cp.url,
      enrollmentToken: token,
      name: 'enrolled-1',
      platform: 'local',
    });
    assert.match(enrolled.agentSecret, /^ssa_/);
    const second = await newToken();
    await assert.rejects(
      enrollAgent({
        controlPlaneUrl: cp.url,
        enrollmentToken: second,
        name: 'enrolled-2',
        agentId: enrolled.agentId,
        platform: 'local',
      }),
      (error: unknown) =>
        error instanceof EnrollmentError &&
        error.status === 409 &&
        error.code === 'agent_identity_taken',
    );
  });

  it('enrolls once, keeps a 0600 credentials file, reconnects with it, and stops on SIGTERM', async () => {
    const credentialsFile = join(dir, 'agent.json');
    const run = (args: string[]): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], {
        env: { ...process.env, STREAMSPACE_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    const exited = (child: ChildProcess) =>
      new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const online = (agentId: string) =>
      waitFor(
        'the agent online',
        async () => (await cp.app.agents.get(agentId)).status === 'online',
        { timeoutMs: 30_000 },
      );

    const first = run([
      '--url',
      cp.url,
      '--enrollment-token',
      await newToken(),
      '--credentials-file',
      credentialsFile,
      '--name',
      'cli-agent',
      '--label',
      'zone=a',
      '--max-sessions',
      '3',
    ]);
    const firstExit = exited(first);
    const credentials = await waitFor(
      'the credentials file',
      () =>
        readCredentialsFile(credentialsFile)
          .catch(() => undefined)
          .then((c) => c ?? undefined),
      { timeoutMs: 30_000 },
    );
    assert.equal((await stat(credentialsFile)).mode & 0o777, 0o600);
    assert.ok(
      !(await readFile(credentialsFile, 'utf8')).includes('sse_'),
      'no enrollment token kept',
    );
    await online(credentials.agentId);
    const agent = await cp.app.agents.get(credentials.agentId);
    assert.equal(agent.name, 'cli-agent');
    assert.deepEqual(agent.labels, { zone: 'a' });
    assert.equal(agent.capacity.maxSessions, 3);
    first.kill('SIGTERM');
    assert.equal(await firstExit, 0, 'SIGTERM stops the agent cleanly');
    await waitFor(
      'offline',
      async () => (await cp.app.agents.get(credentials.agentId)).status === 'offline',
    );

    // Second start: no token needed, same identity, no new agent row.
    const countBefore = (await cp.app.agents.list({ limit: 500 })).items.length;
    const second = run(['--url', cp.url, '--credentials-file', credentialsFile]);
    const secondExit = exited(second);
    await online(credentials.agentId);
    assert.equal((await cp.app.agents.list({ limit: 500 })).items.length, countBefore);
    second.kill('SIGTERM');
    assert.equal(await secondExit, 0);
  });
});
