import type { Logger } from 'pino';

/**
 * A list of async listeners. emit runs them in order and awaits each; a listener that throws
 * is logged and never stops the others or the caller.
 */
export function createListeners<A extends unknown[]>(logger: Logger, event: string) {
  const listeners = new Set<(...args: A) => unknown>();
  return {
    /** Subscribe; returns the unsubscribe function. */
    add(listener: (...args: A) => unknown): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async emit(...args: A): Promise<void> {
      for (const listener of [...listeners]) {
        try {
          await listener(...args);
        } catch (error) {
          logger.error({ err: error, event }, 'event listener failed');
        }
      }
    },
  };
}
