import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionObservation } from '@streamspace/protocol';
import { isDriverError, type SessionDriver } from '@streamspace/session-driver';
import { startTestXvnc, waitFor } from '@streamspace/test-kit';
import { createLocalDriver } from '../src/local-driver';
import { makeDataDir, makeLocalSpec } from './local-harness';

async function driverError(action: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await action.then(
    () => assert.fail('expected a DriverError'),
    (caught: unknown) => caught,
  );
  assert.ok(isDriverError(error), `expected a DriverError, got ${String(error)}`);
  return error;
}

/** Exit code of an X client run against `display` with exactly `env`. */
function xClientExit(display: number, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('xterm', ['-display', `:${display}`, '-geometry', '+0+0', '-e', 'true'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    // A client that never gets its window mapped must fail the test, not hang it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('local driver sessions', () => {
  let dataDir: string;
  let driver: SessionDriver;
  const seen: SessionObservation[] = [];

  before(async () => {
    dataDir = await makeDataDir();
    driver = await createLocalDriver({ dataDir, stopGraceMs: 2_000 });
    driver.onSessionChange((observation) => seen.push(observation));
  });

  after(async () => {
    for (const observation of await driver.list()) {
      await driver.stop(observation.sessionId, { deleteHome: true });
    }
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("runs the app with the session's HOME, DISPLAY and env, not the agent's secrets", async () => {
    process.env.STREAMSPACE_TEST_AGENT_SECRET = 'must-not-leak';
    const spec = makeLocalSpec({
      app: ['sh', '-c', 'env > "$HOME/env.txt"; exec sleep 600'],
      env: { GREETING: 'hello' },
    });
    try {
      await driver.start(spec);
    } finally {
      delete process.env.STREAMSPACE_TEST_AGENT_SECRET;
    }
    const home = join(dataDir, 'homes', spec.homeKey);
    const envFile = join(home, 'env.txt');
    const env = await waitFor('the app to dump its environment', () =>
      readFile(envFile, 'utf8').then((text) => text.includes('GREETING') && text),
    );
    const display = (await driver.inspect(spec.sessionId))?.details.display;
    assert.match(env, new RegExp(`^HOME=${home}$`, 'm'));
    assert.match(env, new RegExp(`^DISPLAY=${display}$`, 'm'));
    assert.match(env, /^GREETING=hello$/m);
    assert.doesNotMatch(env, /STREAMSPACE_TEST_AGENT_SECRET/);

    assert.equal((await stat(home)).mode & 0o777, 0o700, 'the home is private');
    const passwordFile = join(dataDir, 'sessions', `${spec.sessionId}.passwd`);
    assert.equal((await stat(passwordFile)).mode & 0o777, 0o600, 'the password file is private');
    const state = await readFile(join(dataDir, 'sessions', `${spec.sessionId}.json`), 'utf8');
    assert.equal(state.includes(spec.vncPassword), false, 'the state file has no password');
    await driver.stop(spec.sessionId, { deleteHome: true });
  });

  it("keeps the agent's credentials out of Xvnc's environment", async () => {
    const saved = {
      admin: process.env.STREAMSPACE_ADMIN_PASSWORD,
      database: process.env.DATABASE_URL,
    };
    process.env.STREAMSPACE_ADMIN_PASSWORD = 'admin-password-must-not-leak';
    process.env.DATABASE_URL = 'postgres://leak:leak@127.0.0.1/leak';
    const spec = makeLocalSpec();
    try {
      await driver.start(spec);
    } finally {
      for (const [key, value] of [
        ['STREAMSPACE_ADMIN_PASSWORD', saved.admin],
        ['DATABASE_URL', saved.database],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    try {
      const pid = Number((await driver.inspect(spec.sessionId))?.details.pid);
      assert.ok(pid > 0, 'the session reports its Xvnc pid');
      // Any process of the session's user can read this file.
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      assert.match(environ, /(^|\0)PATH=/, 'Xvnc still gets the allow-listed variables');
      assert.doesNotMatch(environ, /STREAMSPACE_ADMIN_PASSWORD|admin-password-must-not-leak/);
      assert.doesNotMatch(environ, /DATABASE_URL|leak:leak/);
    } finally {
      await driver.stop(spec.sessionId, { deleteHome: true });
    }
  });

  it("lets only the session's own processes onto its X display (X cookie)", async () => {
    const spec = makeLocalSpec();
    const { observation } = await driver.start(spec);
    const display = Number(observation.details.display?.slice(1));
    const scratchHome = await mkdtemp(join(tmpdir(), 'streamspace-nohome-'));
    try {
      assert.notEqual(await xClientExit(display, { HOME: scratchHome }), 0, 'no cookie, no entry');
      const xauthority = join(dataDir, 'sessions', `${spec.sessionId}.xauth`);
      assert.equal(await xClientExit(display, { HOME: scratchHome, XAUTHORITY: xauthority }), 0);
    } finally {
      await rm(scratchHome, { recursive: true, force: true });
      await driver.stop(spec.sessionId, { deleteHome: true });
    }
  });

  it('gives the app SIGTERM and time to flush on hibernate', async () => {
    const spec = makeLocalSpec({
      app: [
        'sh',
        '-c',
        'trap "echo flushed > \\"$HOME/flushed.txt\\"; exit 0" TERM; touch "$HOME/trap-set"; while :; do sleep 0.05; done',
      ],
    });
    await driver.start(spec);
    // The VNC server answers before the app has run its first line: wait for the trap.
    const home = join(dataDir, 'homes', spec.homeKey);
    await waitFor('the app to set its SIGTERM trap', () => existsSync(join(home, 'trap-set')));
    await driver.hibernate(spec.sessionId);
    const flushed = await readFile(join(dataDir, 'homes', spec.homeKey, 'flushed.txt'), 'utf8');
    assert.equal(flushed, 'flushed\n');
    await driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('kills an app that ignores SIGTERM after the grace period', async () => {
    const quickDir = await makeDataDir();
    const quick = await createLocalDriver({ dataDir: quickDir, stopGraceMs: 300 });
    const spec = makeLocalSpec({ app: ['sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done'] });
    try {
      await quick.start(spec);
      const started = Date.now();
      await quick.hibernate(spec.sessionId);
      assert.ok(Date.now() - started < 3_000, 'hibernate is bounded by the grace period');
      assert.equal((await quick.inspect(spec.sessionId))?.status, 'stopped');
      await quick.stop(spec.sessionId, { deleteHome: true });
    } finally {
      await quick.close();
      await rm(quickDir, { recursive: true, force: true });
    }
  });

  it('reports the app exiting on its own as failed with its exit code', async () => {
    const spec = makeLocalSpec({ app: ['sh', '-c', 'exit 3'] });
    await driver.start(spec).catch(() => {});
    const failed = await waitFor('the failure report', () =>
      seen.find((o) => o.sessionId === spec.sessionId && o.status === 'failed'),
    );
    assert.equal(failed.reason, 'sh exited with code 3');
    assert.equal((await driver.inspect(spec.sessionId))?.status, 'failed');
  });

  it('gives sessions started at the same time their own display and port', async () => {
    const specs = [makeLocalSpec(), makeLocalSpec(), makeLocalSpec()];
    const results = await Promise.all(specs.map((spec) => driver.start(spec)));
    const displays = new Set(results.map((r) => r.observation.details.display));
    const ports = new Set(results.map((r) => r.observation.endpoint?.port));
    assert.equal(displays.size, 3);
    assert.equal(ports.size, 3);
    for (const spec of specs) await driver.stop(spec.sessionId, { deleteHome: true });
  });

  it('refuses streams to other ports and to sessions that do not run', async () => {
    const spec = makeLocalSpec();
    await driver.start(spec);
    assert.equal((await driverError(driver.openStream(spec.sessionId, 22))).code, 'invalid_spec');
    await driver.stop(spec.sessionId, { deleteHome: true });
    const refused = await driverError(driver.openStream(spec.sessionId, spec.vncPort));
    assert.equal(refused.code, 'session_not_found');
    assert.equal((await driverError(driver.hibernate(spec.sessionId))).code, 'session_not_found');
  });

  it('deletes a home it does not run when asked, and refuses a home key that escapes', async () => {
    const homeKey = 'orphan-home';
    const home = join(dataDir, 'homes', homeKey);
    await mkdir(home, { recursive: true });
    await driver.stop(makeLocalSpec().sessionId, { deleteHome: true, homeKey });
    await assert.rejects(stat(home), { code: 'ENOENT' });
    const escape = await driverError(
      driver.stop(makeLocalSpec().sessionId, { deleteHome: true, homeKey: '../sessions' }),
    );
    assert.equal(escape.code, 'invalid_spec');
    await stat(join(dataDir, 'sessions'));
  });
});

describe('local driver start failures', () => {
  let dataDir: string;
  let fakeBin: string;

  before(async () => {
    dataDir = await makeDataDir();
    fakeBin = await mkdtemp(join(tmpdir(), 'streamspace-fakebin-'));
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(fakeBin, { recursive: true, force: true });
  });

  async function withFakeXvnc(script: string, startTimeoutMs = 400): Promise<SessionDriver> {
    const path = join(fakeBin, 'Xvnc');
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return createLocalDriver({
      dataDir,
      startTimeoutMs,
      path: `${fakeBin}:${process.env.PATH ?? ''}`,
    });
  }

  it('times out with start_timeout when Xvnc never answers, and kills it', async () => {
    const marker = join(fakeBin, 'hung.pid');
    const driver = await withFakeXvnc(`echo $$ > ${marker}; exec sleep 30`);
    try {
      const spec = makeLocalSpec();
      const started = Date.now();
      const error = await driverError(driver.start(spec));
      assert.equal(error.code, 'start_timeout');
      assert.ok(Date.now() - started < 5_000);
      const pid = Number(await readFile(marker, 'utf8'));
      await waitFor('the hung Xvnc to be killed', () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      const observation = await driver.inspect(spec.sessionId);
      assert.equal(observation?.status, 'failed');
      assert.match(observation?.reason ?? '', /did not answer RFB/);
    } finally {
      await driver.close();
    }
  });

  it('fails with platform_error and Xvnc’s own words when it exits during start', async () => {
    // A start timeout far beyond the exit: on a busy machine the shell may take longer than
    // 400 ms to run, and the start must fail because Xvnc exited, not because time ran out.
    const driver = await withFakeXvnc('echo "Unrecognized option: -bogus" >&2; exit 1', 30_000);
    try {
      const error = await driverError(driver.start(makeLocalSpec()));
      assert.equal(error.code, 'platform_error');
      assert.match(error.message, /Unrecognized option/);
    } finally {
      await driver.close();
    }
  });

  it('refuses a second driver on a data directory in use, takes over a dead one', async () => {
    const first = await createLocalDriver({ dataDir });
    const inUse = await driverError(createLocalDriver({ dataDir }));
    assert.match(inUse.message, /in use/);
    await first.close();

    const lockFile = join(dataDir, 'agent.pid');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await writeFile(lockFile, `${sleeper.pid}\n`);
      const other = await driverError(createLocalDriver({ dataDir }));
      assert.match(other.message, new RegExp(`in use by pid ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
    // The holder is gone: its lock is stale and the next driver takes over.
    const next = await createLocalDriver({ dataDir });
    assert.equal((await readFile(lockFile, 'utf8')).trim(), String(process.pid));
    await next.close();
    await assert.rejects(stat(lockFile), { code: 'ENOENT' });
  });

  it('moves to another display when Xvnc finds its display taken', async () => {
    const holder = await startTestXvnc();
    const emptyX11 = await mkdtemp(join(tmpdir(), 'streamspace-x11-'));
    // The driver cannot see the holder's lock file (empty x11TmpDir), so its first pick
    // collides for real and Xvnc refuses the display.
    const driver = await createLocalDriver({
      dataDir,
      x11TmpDir: emptyX11,
      displayRange: { first: holder.display, last: holder.display + 20 },
    });
    const spec = makeLocalSpec();
    try {
      const { observation } = await driver.start(spec);
      assert.notEqual(observation.details.display, `:${holder.display}`);
      assert.equal(observation.status, 'running');
    } finally {
      await driver.stop(spec.sessionId, { deleteHome: true });
      await driver.close();
      await holder.stop();
      await rm(emptyX11, { recursive: true, force: true });
    }
  });
});
