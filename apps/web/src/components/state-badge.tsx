import type { AgentStatus, SessionState } from '@streamspace/protocol';

const TONE: Record<SessionState | AgentStatus, string> = {
  pending: 'info',
  starting: 'info',
  waking: 'info',
  running: 'ok',
  online: 'ok',
  hibernating: 'warn',
  hibernated: 'muted',
  draining: 'warn',
  stopping: 'warn',
  stopped: 'muted',
  offline: 'bad',
  failed: 'bad',
};

export function StateBadge({ state }: { state: SessionState | AgentStatus }) {
  return (
    <span className={`badge badge-${TONE[state]}`} data-state={state}>
      {state}
    </span>
  );
}
