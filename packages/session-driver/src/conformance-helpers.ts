import assert from 'node:assert/strict';
import type { SessionObservation, SessionSpec } from '@streamspace/protocol';
import { RfbProbe } from '@streamspace/test-kit';
import { isDriverError } from './driver-error';
import type { SessionDriver } from './session-driver';

/** Open the session's VNC port through the driver and complete the RFB handshake. */
export async function connectProbe(driver: SessionDriver, spec: SessionSpec): Promise<RfbProbe> {
  const stream = await driver.openStream(spec.sessionId, spec.vncPort);
  return RfbProbe.connect(stream, { password: spec.vncPassword, timeoutMs: 10_000 });
}

/** Connect, ask for the whole screen in 32 bpp Raw and read the first update. */
export async function probeFirstFrame(driver: SessionDriver, spec: SessionSpec): Promise<RfbProbe> {
  const probe = await connectProbe(driver, spec);
  try {
    assert.equal(probe.width, spec.geometry.width, 'framebuffer width is the spec geometry');
    assert.equal(probe.height, spec.geometry.height, 'framebuffer height is the spec geometry');
    probe.setPixelFormat();
    probe.setEncodings();
    probe.requestUpdate(false);
    const update = await probe.readUpdate(10_000);
    const covered = update.rectangles.reduce((sum, rect) => sum + rect.width * rect.height, 0);
    assert.ok(
      covered >= probe.width * probe.height,
      `the first full update covers the screen (${covered} of ${probe.width * probe.height} pixels)`,
    );
    return probe;
  } catch (error) {
    probe.close();
    throw error;
  }
}

/**
 * A stream to a session that does not run must not reach a VNC server: openStream rejects,
 * or the stream it returns fails before the RFB handshake completes.
 */
export async function assertStreamRefused(
  driver: SessionDriver,
  spec: SessionSpec,
  why: string,
): Promise<void> {
  let stream;
  try {
    stream = await driver.openStream(spec.sessionId, spec.vncPort);
  } catch {
    return;
  }
  const probe = await RfbProbe.connect(stream, {
    password: spec.vncPassword,
    timeoutMs: 5_000,
  }).catch(() => undefined);
  if (probe !== undefined) {
    probe.close();
    assert.fail(`${why}: the session's VNC server still answers`);
  }
}

/** The observation for one session in a list, or undefined. */
export function findIn(
  list: SessionObservation[],
  sessionId: string,
): SessionObservation | undefined {
  const matches = list.filter((observation) => observation.sessionId === sessionId);
  assert.ok(matches.length <= 1, `list reports session ${sessionId} once, not ${matches.length}×`);
  return matches[0];
}

/** Settle within `ms` or fail the test: a driver must never hang on bad input. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run `action` and return the DriverError it rejects with (fails if it resolves or throws else). */
export async function expectDriverError(action: Promise<unknown>) {
  const error = await action.then(
    () => assert.fail('expected a DriverError, the call resolved'),
    (caught: unknown) => caught,
  );
  assert.ok(isDriverError(error), `expected a DriverError, got ${String(error)}`);
  return error;
}
