import { runDriverConformance } from '@streamspace/session-driver/conformance';
import { createLocalHarness } from './local-harness';

runDriverConformance('local (Xvnc + twm + xterm on this host)', () => createLocalHarness(), {
  startTimeoutMs: 15_000,
  failureTimeoutMs: 5_000,
  changeTimeoutMs: 5_000,
});
