import type { SessionState } from '@streamspace/protocol';

/** What the viewer overlay shows; one union so every state has exactly one message. */
export type ViewerStatus =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected' }
  | { kind: 'reconnecting'; reason: string; retryAt: number }
  | { kind: 'agent_offline'; reason: string; retryAt: number }
  /** The session is starting or waking: connect when it reports running. `since`: ms epoch. */
  | { kind: 'waiting'; state: SessionState; since: number }
  /** `settled` once hibernation finished: only then can the session be woken. */
  | { kind: 'hibernated'; settled: boolean }
  | { kind: 'ended'; state: SessionState; reason: string }
  | { kind: 'not_found' }
  | { kind: 'disconnected' }
  | { kind: 'error'; message: string };

export type ViewerStatusKind = ViewerStatus['kind'];

export const NOT_FOUND_MESSAGE = 'Session not found or not yours';

/** Reconnect delay after `failures` consecutive failures: 0.5 s doubling to 15 s, ±25 %. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}
