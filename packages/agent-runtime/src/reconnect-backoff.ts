/** Dial-out back-off of the agent link. */
export interface ReconnectPolicy {
  /** Nominal delay before the first retry, in ms. */
  baseMs: number;
  /** Upper bound of the nominal delay, in ms. */
  capMs: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = { baseMs: 500, capMs: 30_000 };

/**
 * "Full jitter" (AWS architecture blog, "Exponential Backoff And Jitter"): a uniform delay in
 * [0, min(cap, base·2^attempt)), so a fleet of agents cut off by one control-plane restart
 * does not reconnect in lock-step.
 */
export function reconnectDelayMs(
  attempt: number,
  policy: ReconnectPolicy,
  random: () => number,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
