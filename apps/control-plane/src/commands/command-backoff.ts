/** Re-send policy for commands the agent has not acknowledged. */
export interface RetryPolicy {
  /** Delay after the first send, in ms. */
  baseMs: number;
  /** Upper bound of the delay, in ms. */
  capMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 2_000, capMs: 60_000 };

/**
 * Delay before re-sending after `attempts` sends: exponential, capped, with "equal jitter"
 * (half fixed, half random) so re-sends to many agents spread out without ever re-sending
 * sooner than half the nominal delay.
 */
export function retryDelayMs(attempts: number, policy: RetryPolicy, random: () => number): number {
  const nominal = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}
