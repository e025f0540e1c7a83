import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SessionObservation, SessionSpec } from '@streamspace/protocol';
import type { SessionDriver } from '@streamspace/session-driver';
import { RfbProbe, waitFor } from '@streamspace/test-kit';
import { createLocalDriver } from '../src/local-driver';
import { makeDataDir, makeLocalSpec } from './local-harness';

function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

async function pidsOf(dataDir: string, sessionId: string): Promise<Record<string, number>> {
  const record = JSON.parse(await readFile(join(dataDir, 'sessions', `${sessionId}.json`), 'utf8'));
  return Object.fromEntries(
    (record.processes as { role: string; pid: number }[]).map((p) => [p.role, p.pid]),
  );
}

async function rfbAnswers(driver: SessionDriver, spec: SessionSpec): Promise<void> {
  const probe = await RfbProbe.connect(await driver.openStream(spec.sessionId, spec.vncPort), {
    password: spec.vncPassword,
  });
  assert.equal(probe.width, spec.geometry.width);
  probe.close();
}

describe('local driver across an agent restart', () => {
  const cleanups: (() => Promise<void>)[] = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  /** A data dir whose sessions are stopped and whose files are removed after the suite. */
  async function freshDataDir(): Promise<string> {
    const dataDir = await makeDataDir();
    cleanups.push(async () => {
      const driver = await createLocalDriver({ dataDir, stopGraceMs: 500 });
      for (const observation of await driver.list()) {
        await driver.stop(observation.sessionId, { deleteHome: true });
      }
      await driver.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    return dataDir;
  }

  it('keeps sessions running when the agent process is killed, and adopts them', async () => {
    const dataDir = await freshDataDir();
    const spec = makeLocalSpec();
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'agent-process.ts');
    const agent = spawn(
      process.execPath,
      ['--import', 'tsx', fixture, dataDir, JSON.stringify(spec)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    let output = '';
    agent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const line = await waitFor(
      'the agent process to start its session',
      () => output.includes('\n') && output,
      {
        timeoutMs: 30_000,
      },
    );
    const started = JSON.parse(line) as SessionObservation;
    agent.kill('SIGKILL');
    await exited;

    const driver = await createLocalDriver({ dataDir, stopGraceMs: 1_000 });
    try {
      const observation = await driver.inspect(spec.sessionId);
      assert.equal(observation?.status, 'running', 'the session outlived its agent');
      assert.deepEqual(observation?.endpoint, started.endpoint);
      await rfbAnswers(driver, spec);
      await driver.stop(spec.sessionId, { deleteHome: true });
      assert.equal(processExists(Number(started.details.pid)), false);
    } finally {
      await driver.close();
    }
  });

  it('adopts sessions whose processes survived: list, stream and hibernate work', async () => {
    const dataDir = await freshDataDir();
    const first = await createLocalDriver({ dataDir });
    const spec = makeLocalSpec();
    const started = await first.start(spec);
    await first.close();

    const second = await createLocalDriver({ dataDir, stopGraceMs: 1_000 });
    try {
      const listed = (await second.list()).find((o) => o.sessionId === spec.sessionId);
      assert.equal(listed?.status, 'running');
      assert.deepEqual(listed?.endpoint, started.observation.endpoint);
      await rfbAnswers(second, spec);

      const pids = await pidsOf(dataDir, spec.sessionId);
      await second.hibernate(spec.sessionId);
      for (const [role, pid] of Object.entries(pids)) {
        assert.equal(processExists(pid), false, `${role} (pid ${pid}) is gone after hibernate`);
      }
      assert.equal((await second.inspect(spec.sessionId))?.status, 'stopped');
      await second.wake(spec);
      await rfbAnswers(second, spec);
    } finally {
      await second.close();
    }
  });

  it('reports a session whose Xvnc died while the agent was down as failed', async () => {
    const dataDir = await freshDataDir();
    const first = await createLocalDriver({ dataDir });
    const spec = makeLocalSpec();
    await first.start(spec);
    await first.close();
    const pids = await pidsOf(dataDir, spec.sessionId);
    process.kill(pids.xvnc!, 'SIGKILL');
    await waitFor('Xvnc to die', () => !processExists(pids.xvnc!));

    const second = await createLocalDriver({ dataDir, stopGraceMs: 1_000 });
    try {
      const observation = await second.inspect(spec.sessionId);
      assert.equal(observation?.status, 'failed');
      assert.match(observation?.reason ?? '', /Xvnc \(pid \d+\) exited while the agent was not/);
      assert.equal(processExists(pids.app!), false, 'the orphaned app is cleaned up');
      await second.stop(spec.sessionId, { deleteHome: true });
      assert.equal(await second.inspect(spec.sessionId), null);
    } finally {
      await second.close();
    }
  });

  it('notices an adopted session dying later (no exit event: liveness check)', async () => {
    const dataDir = await freshDataDir();
    const first = await createLocalDriver({ dataDir });
    const spec = makeLocalSpec();
    await first.start(spec);
    await first.close();

    const second = await createLocalDriver({ dataDir, livenessIntervalMs: 100 });
    const seen: SessionObservation[] = [];
    second.onSessionChange((observation) => seen.push(observation));
    try {
      const pids = await pidsOf(dataDir, spec.sessionId);
      process.kill(pids.app!, 'SIGKILL');
      const failed = await waitFor('the failure report', () =>
        seen.find((o) => o.sessionId === spec.sessionId && o.status === 'failed'),
      );
      assert.match(failed.reason ?? '', /xterm \(pid \d+\) is no longer running/);
      await waitFor('the rest of the session to be torn down', () => !processExists(pids.xvnc!));
    } finally {
      await second.close();
    }
  });

  it('finishes a hibernation the agent died in, and ignores unreadable state files', async () => {
    const dataDir = await freshDataDir();
    const first = await createLocalDriver({ dataDir });
    const spec = makeLocalSpec();
    await first.start(spec);
    await first.close();
    const file = join(dataDir, 'sessions', `${spec.sessionId}.json`);
    const record = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...record, status: 'hibernating' }));
    await writeFile(join(dataDir, 'sessions', 'garbage.json'), '{ not json');
    const pids = await pidsOf(dataDir, spec.sessionId);

    const second = await createLocalDriver({ dataDir, stopGraceMs: 1_000 });
    try {
      const list = await second.list();
      assert.deepEqual(
        list.map((o) => [o.sessionId, o.status]),
        [[spec.sessionId, 'stopped']],
      );
      assert.equal(processExists(pids.xvnc!), false);
      const saved = JSON.parse(await readFile(file, 'utf8'));
      assert.equal(saved.status, 'hibernated');
      assert.equal('vncPassword' in saved.spec, false, 'the state file never holds the password');
    } finally {
      await second.close();
    }
  });
});
