import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SessionObservation, SessionSpec } from '@streamspace/protocol';
import { RfbProbe, waitFor } from '@streamspace/test-kit';
import {
  assertStreamRefused,
  expectDriverError,
  findIn,
  probeFirstFrame,
  within,
} from './conformance-helpers';
import type { SessionDriver } from './session-driver';

/** What a driver's test file provides so the one suite can run against it. */
export interface ConformanceHarness {
  driver: SessionDriver;
  /**
   * A valid spec that shows a visible app (e.g. xterm) on a window manager; a fresh
   * sessionId and homeKey on every call unless overridden.
   */
  makeSpec(overrides?: Partial<SessionSpec>): SessionSpec;
  /** A spec that must fail with a typed DriverError (missing image; missing app binary). */
  missingImageSpec(): SessionSpec;
  /** Write a file into the persistent home identified by homeKey, from outside the session. */
  writeHomeFile(homeKey: string, relativePath: string, bytes: Buffer): Promise<void>;
  /** Read a file from the persistent home; null when the file or the home does not exist. */
  readHomeFile(homeKey: string, relativePath: string): Promise<Buffer | null>;
  /** Kill the session's VNC server behind the driver's back (docker kill, kill -9 Xvnc…). */
  killSession(sessionId: string): Promise<void>;
  /** Release what setup made (the suite has already stopped the sessions it started). */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** Bound on start/wake of a valid spec, in ms. */
  startTimeoutMs?: number;
  /** Bound on a start that must fail (missing image), in ms: a typed error, never a hang. */
  failureTimeoutMs?: number;
  /** Bound on noticing a session killed behind the driver's back, in ms. */
  changeTimeoutMs?: number;
}

const TEST_TIMEOUT_MS = 120_000;

/**
 * Register the driver conformance suite (issue 3 item 3, issue 5) with node:test. Every
 * driver's test file calls this once; a driver that passes behaves as the agent runtime and
 * the control plane expect.
 */
export function runDriverConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
  options: ConformanceOptions = {},
): void {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const failureTimeoutMs = options.failureTimeoutMs ?? 30_000;
  const changeTimeoutMs = options.changeTimeoutMs ?? 15_000;

  describe(`session driver conformance: ${name}`, { timeout: 15 * 60_000 }, () => {
    let harness: ConformanceHarness;
    let driver: SessionDriver;
    const started: SessionSpec[] = [];

    const start = async (spec: SessionSpec) => {
      started.push(spec);
      return within(startTimeoutMs, `start ${spec.sessionId}`, driver.start(spec));
    };

    before(async () => {
      harness = await setup();
      driver = harness.driver;
    });

    after(async () => {
      if (harness === undefined) return;
      for (const spec of started) {
        await driver
          .stop(spec.sessionId, { deleteHome: true, homeKey: spec.homeKey })
          .catch(() => {});
      }
      await harness.cleanup();
    });

    it(
      'start: the VNC endpoint answers RFB with the spec password and geometry',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec({ geometry: { width: 1024, height: 640 } });
        const result = await start(spec);
        assert.equal(result.observation.sessionId, spec.sessionId);
        assert.equal(result.observation.status, 'running');
        assert.ok(result.observation.endpoint !== undefined, 'a running session has an endpoint');

        const probe = await probeFirstFrame(driver, spec);
        probe.close();

        const stream = await driver.openStream(spec.sessionId, spec.vncPort);
        await assert.rejects(
          // VNC Authentication keys on the first 8 bytes only (RFC 6143 §7.2.2): change those.
          RfbProbe.connect(stream, { password: `wrong!${spec.vncPassword}`, timeoutMs: 10_000 }),
          { code: 'auth_failed' },
          'the session demands its own VNC password',
        );
      },
    );

    it(
      'start: the app is on screen (the framebuffer is not blank)',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        await start(spec);
        const probe = await probeFirstFrame(driver, spec);
        try {
          await waitFor(
            'the app and window manager to draw something',
            async () => {
              if (probe.distinctColours() >= 2) return true;
              probe.requestUpdate(true);
              await probe.readUpdate(2_000);
              return probe.distinctColours() >= 2;
            },
            { timeoutMs: 20_000 },
          );
        } finally {
          probe.close();
        }
      },
    );

    it(
      'start twice with the same spec is idempotent: same endpoint, one session',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        const first = await start(spec);
        const second = await start(spec);
        assert.deepEqual(second.observation.endpoint, first.observation.endpoint);
        assert.equal(second.observation.status, 'running');
        const listed = findIn(await driver.list(), spec.sessionId);
        assert.equal(listed?.status, 'running');
        (await probeFirstFrame(driver, spec)).close();
      },
    );

    it(
      'several streams to one session work at once; closing one leaves the other',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        await start(spec);
        const first = await probeFirstFrame(driver, spec);
        const second = await probeFirstFrame(driver, spec);
        first.close();
        second.requestUpdate(false);
        const update = await second.readUpdate(10_000);
        assert.ok(update.rectangles.length > 0, 'the remaining viewer still gets updates');
        second.close();
        const third = await probeFirstFrame(driver, spec);
        third.close();
      },
    );

    it(
      'stop removes everything, and stopping again (or an unknown session) resolves',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        await start(spec);
        await driver.stop(spec.sessionId, { deleteHome: false });
        const inspected = await driver.inspect(spec.sessionId);
        assert.equal(inspected, null, 'inspect knows nothing of a stopped session');
        assert.equal(findIn(await driver.list(), spec.sessionId), undefined, 'list lacks it');
        await assertStreamRefused(driver, spec, 'after stop');
        await driver.stop(spec.sessionId, { deleteHome: false });
        await driver.stop(harness.makeSpec().sessionId, { deleteHome: false });
      },
    );

    it(
      'hibernate keeps the home; wake streams again with the same files',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        await start(spec);
        const bytes = randomBytes(64 * 1024);
        await harness.writeHomeFile(spec.homeKey, 'work/before-hibernate.bin', bytes);

        await driver.hibernate(spec.sessionId);
        assert.equal((await driver.inspect(spec.sessionId))?.status, 'stopped');
        assert.equal(findIn(await driver.list(), spec.sessionId)?.status, 'stopped');
        await assertStreamRefused(driver, spec, 'while hibernated');
        await driver.hibernate(spec.sessionId);

        const woken = await within(startTimeoutMs, 'wake', driver.wake(spec));
        assert.equal(woken.observation.status, 'running');
        (await probeFirstFrame(driver, spec)).close();
        const back = await harness.readHomeFile(spec.homeKey, 'work/before-hibernate.bin');
        assert.ok(back !== null, 'the file survives hibernation');
        assert.ok(back.equals(bytes), 'the file has identical bytes after wake');
      },
    );

    it(
      'list reports exactly what runs, hibernated sessions as stopped',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const a = harness.makeSpec();
        const b = harness.makeSpec();
        await start(a);
        await start(b);
        let list = await driver.list();
        assert.equal(findIn(list, a.sessionId)?.status, 'running');
        assert.equal(findIn(list, b.sessionId)?.status, 'running');

        await driver.hibernate(b.sessionId);
        list = await driver.list();
        assert.equal(findIn(list, a.sessionId)?.status, 'running');
        assert.equal(findIn(list, b.sessionId)?.status, 'stopped');

        await driver.stop(a.sessionId, { deleteHome: true, homeKey: a.homeKey });
        await driver.stop(b.sessionId, { deleteHome: true, homeKey: b.homeKey });
        list = await driver.list();
        assert.equal(findIn(list, a.sessionId), undefined);
        assert.equal(findIn(list, b.sessionId), undefined);
      },
    );

    it(
      'stop keeps the home for the next session; stop with deleteHome removes it',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const first = harness.makeSpec();
        await start(first);
        const bytes = randomBytes(4096);
        await harness.writeHomeFile(first.homeKey, 'kept.bin', bytes);
        await driver.stop(first.sessionId, { deleteHome: false, homeKey: first.homeKey });
        assert.ok((await harness.readHomeFile(first.homeKey, 'kept.bin'))?.equals(bytes));

        const second = harness.makeSpec({ homeKey: first.homeKey });
        await start(second);
        (await probeFirstFrame(driver, second)).close();
        assert.ok(
          (await harness.readHomeFile(first.homeKey, 'kept.bin'))?.equals(bytes),
          'a new session of the same home finds the file',
        );
        await driver.stop(second.sessionId, { deleteHome: true, homeKey: second.homeKey });
        assert.equal(await harness.readHomeFile(first.homeKey, 'kept.bin'), null);
      },
    );

    it(
      'a missing image or app fails with a typed DriverError, not a hang',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.missingImageSpec();
        started.push(spec);
        const error = await within(
          failureTimeoutMs,
          'start of a bad spec',
          expectDriverError(driver.start(spec)),
        );
        assert.ok(
          error.code === 'image_not_found' || error.code === 'invalid_spec',
          `code is image_not_found or invalid_spec, got ${error.code}`,
        );
        assert.match(error.message, /\S/);
        const inspected = await driver.inspect(spec.sessionId);
        assert.notEqual(inspected?.status, 'running', 'nothing runs for a failed start');
      },
    );

    it(
      'a session killed behind the driver is reported failed with a reason',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const spec = harness.makeSpec();
        await start(spec);
        const seen: SessionObservation[] = [];
        const unsubscribe = driver.onSessionChange((observation) => seen.push(observation));
        try {
          await harness.killSession(spec.sessionId);
          const failed = await waitFor(
            'onSessionChange to report the killed session as failed',
            () => seen.find((o) => o.sessionId === spec.sessionId && o.status === 'failed'),
            { timeoutMs: changeTimeoutMs },
          );
          assert.match(failed.reason ?? '', /\S/, 'the failure carries a reason');
          const inspected = await driver.inspect(spec.sessionId);
          assert.notEqual(inspected?.status, 'running');
          await assertStreamRefused(driver, spec, 'after the kill');
        } finally {
          unsubscribe();
        }
        await driver.stop(spec.sessionId, { deleteHome: false });
        assert.equal(findIn(await driver.list(), spec.sessionId), undefined);
      },
    );
  });
}
