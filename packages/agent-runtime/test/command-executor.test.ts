import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CommandMessage, SessionSpec } from '@streamspace/protocol';
import { DriverError } from '@streamspace/session-driver';
import { FakeClock } from '@streamspace/test-kit';
import { createCommandExecutor } from '../src/command-executor';
import { createFileOutcomeStore, memoryOutcomeStore } from '../src/outcome-store';
import { FakeDriver } from './fake-driver';

const logger = pino({ level: 'silent' });

function spec(sessionId: string): SessionSpec {
  return {
    sessionId,
    userId: randomUUID(),
    templateId: 'terminal',
    image: 'streamspace/desktop:latest',
    app: [],
    windowManager: 'twm',
    resources: { cpuMillis: 500, memoryMb: 512 },
    geometry: { width: 800, height: 600 },
    homeKey: 'home-1',
    vncPassword: 'secret-1',
    vncPort: 5900,
    env: {},
  };
}

function startCommand(clock: FakeClock, sessionId = randomUUID(), ttlMs = 60_000): CommandMessage {
  return {
    type: 'command',
    commandId: randomUUID(),
    deadline: new Date(clock.now() + ttlMs).toISOString(),
    command: { type: 'start_session', sessionId, spec: spec(sessionId) },
  };
}

describe('command executor: at most once per command id', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamspace-executor-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a duplicate in flight joins the running call; one after completion gets the first outcome', async () => {
    const clock = new FakeClock(Date.now());
    const driver = new FakeDriver();
    const executor = await createCommandExecutor({
      driver,
      clock,
      logger,
      store: memoryOutcomeStore,
    });
    driver.hold();
    const message = startCommand(clock);
    const first = executor.execute(message);
    const duplicate = executor.execute(message);
    driver.release();
    const [a, b] = await Promise.all([first, duplicate]);
    assert.deepEqual(a, b);
    assert.equal(a.ok, true);
    const later = await executor.execute(message);
    assert.deepEqual(later, a);
    assert.equal(driver.count('start'), 1, 'the driver ran once for three deliveries');
  });

  it('maps driver errors to their code and anything else to platform_error', async () => {
    const clock = new FakeClock(Date.now());
    const driver = new FakeDriver();
    const executor = await createCommandExecutor({
      driver,
      clock,
      logger,
      store: memoryOutcomeStore,
    });
    const typed = startCommand(clock);
    driver.failNext(
      'start',
      typed.command.sessionId,
      new DriverError('image_not_found', 'no image x'),
    );
    assert.deepEqual(await executor.execute(typed), {
      ok: false,
      error: { code: 'image_not_found', message: 'no image x' },
    });
    const untyped = startCommand(clock);
    driver.failNext('start', untyped.command.sessionId, new TypeError('oops'));
    const outcome = await executor.execute(untyped);
    assert.equal(outcome.ok === false && outcome.error.code, 'platform_error');
    // The failure is the recorded outcome: a re-send does not retry.
    assert.deepEqual(await executor.execute(untyped), outcome);
    assert.equal(driver.count('start', untyped.command.sessionId), 1);
  });

  it('a command past its deadline is reported failed without running', async () => {
    const clock = new FakeClock(Date.now());
    const driver = new FakeDriver();
    const executor = await createCommandExecutor({
      driver,
      clock,
      logger,
      store: memoryOutcomeStore,
    });
    const message = startCommand(clock, randomUUID(), 1_000);
    clock.advance(2_000);
    const outcome = await executor.execute(message);
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok === false ? outcome.error.message : '', /after its deadline/);
    assert.equal(driver.count('start'), 0);
  });

  it('runs stop, hibernate and wake through the driver with their arguments', async () => {
    const clock = new FakeClock(Date.now());
    const driver = new FakeDriver();
    const executor = await createCommandExecutor({
      driver,
      clock,
      logger,
      store: memoryOutcomeStore,
    });
    const sessionId = randomUUID();
    const deadline = new Date(clock.now() + 60_000).toISOString();
    const run = (command: CommandMessage['command']) =>
      executor.execute({ type: 'command', commandId: randomUUID(), deadline, command });
    assert.equal((await run({ type: 'start_session', sessionId, spec: spec(sessionId) })).ok, true);
    assert.equal((await run({ type: 'hibernate_session', sessionId })).ok, true);
    assert.equal(driver.sessions.get(sessionId)?.status, 'stopped');
    const woken = await run({ type: 'wake_session', sessionId, spec: spec(sessionId) });
    assert.equal(woken.ok && woken.observation?.status, 'running');
    const stopped = await run({
      type: 'stop_session',
      sessionId,
      deleteHome: true,
      homeKey: 'home-1',
    });
    assert.deepEqual(stopped, { ok: true });
    assert.equal(driver.sessions.has(sessionId), false);
  });

  it('with a state file, an agent restart still dedups: done ones re-send, interrupted ones run again once', async () => {
    const clock = new FakeClock(Date.now());
    const path = join(dir, 'outcomes.jsonl');
    const driver = new FakeDriver();
    const first = await createCommandExecutor({
      driver,
      clock,
      logger,
      store: createFileOutcomeStore(path),
    });
    const done = startCommand(clock);
    const outcome = await first.execute(done);
    assert.equal(outcome.ok, true);
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'the state file is private');

    // Simulate a crash mid-command: `started` is on disk, the outcome never was.
    const interrupted = startCommand(clock);
    driver.hold();
    void first.execute(interrupted);
    await (async () => {
      for (;;) {
        if ((await readFile(path, 'utf8')).includes(interrupted.commandId)) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    const restartedDriver = new FakeDriver();
    const second = await createCommandExecutor({
      driver: restartedDriver,
      clock,
      logger,
      store: createFileOutcomeStore(path),
    });
    assert.deepEqual(await second.execute(done), outcome, 'the first outcome again');
    assert.equal(restartedDriver.calls.length, 0, 'the completed command did not run again');
    const again = await second.execute(interrupted);
    assert.equal(again.ok, true, 'the interrupted command was applied again and succeeded');
    assert.equal(restartedDriver.count('start', interrupted.command.sessionId), 1);
    const duplicate = await second.execute(interrupted);
    assert.deepEqual(
      duplicate,
      again,
      'and from then on it is done: a duplicate gets that outcome',
    );
    assert.equal(restartedDriver.count('start', interrupted.command.sessionId), 1);
    driver.release();
  });
});
