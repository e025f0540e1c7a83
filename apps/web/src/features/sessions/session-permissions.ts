import { canTransition, type SessionState } from '@streamspace/protocol';

/** Which actions the state machine allows now; the UI offers only those. */
export function allowedActions(state: SessionState) {
  return {
    open: state === 'running',
    stop: canTransition(state, 'stopping'),
    hibernate: canTransition(state, 'hibernating'),
    wake: canTransition(state, 'waking'),
    remove: state !== 'stopping',
  };
}

/** States that will change on their own soon: worth showing a progress hint. */
export function isTransient(state: SessionState): boolean {
  return ['pending', 'starting', 'hibernating', 'waking', 'stopping'].includes(state);
}
