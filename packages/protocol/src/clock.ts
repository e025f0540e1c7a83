/**
 * Time as a dependency (CONVENTIONS.md #6): control plane and agents take a Clock so
 * timeouts are tested with a fake clock instead of sleeping. It lives in the protocol
 * package because it is the one package both sides import; it does no I/O.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

export interface ClockTimer {
  readonly id: unknown;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return { id: handle };
  },
  clearTimeout: (timer) => clearTimeout(timer.id as NodeJS.Timeout),
};
