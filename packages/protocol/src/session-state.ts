import { z } from 'zod';

export const SESSION_STATES = [
  'pending',
  'starting',
  'running',
  'hibernating',
  'hibernated',
  'waking',
  'stopping',
  'stopped',
  'failed',
] as const;
export const SessionState = z.enum(SESSION_STATES);
export type SessionState = z.infer<typeof SessionState>;

/**
 * The session state machine as data (BRIEF.md, "Sessions"). A move that is not listed here
 * is illegal and refused. `failed` and `stopped` are terminal except for being stopped again
 * (a no-op the API treats as idempotent).
 */
export const SESSION_TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  pending: ['starting', 'stopping', 'stopped', 'failed'],
  starting: ['running', 'stopping', 'failed'],
  running: ['hibernating', 'stopping', 'failed'],
  hibernating: ['hibernated', 'stopping', 'failed'],
  hibernated: ['waking', 'stopping', 'stopped', 'failed'],
  waking: ['running', 'stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: ['stopping', 'stopped'],
};

export function canTransition(from: SessionState, to: SessionState): boolean {
  return SESSION_TRANSITIONS[from].includes(to);
}

/** States in which the session holds compute on an agent. */
export const ACTIVE_SESSION_STATES: readonly SessionState[] = [
  'starting',
  'running',
  'hibernating',
  'waking',
  'stopping',
];

export function isTerminalSessionState(state: SessionState): boolean {
  return state === 'stopped';
}

/** Every state but the final one: what lists of sessions still to act on show. */
export const NOT_STOPPED_SESSION_STATES: readonly SessionState[] = SESSION_STATES.filter(
  (state) => !isTerminalSessionState(state),
);
