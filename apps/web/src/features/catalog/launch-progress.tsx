import type { SessionState } from '@streamspace/protocol';
import { useEffect } from 'react';
import { useNavigate } from 'react-router';
import { errorMessage } from '../../api/api-error';
import { InlineError } from '../../components/error-panel';
import { useSession } from '../sessions/use-sessions';

const STEPS: { state: SessionState; label: string }[] = [
  { state: 'pending', label: 'Queued for an agent' },
  { state: 'starting', label: 'Starting the session' },
  { state: 'running', label: 'Running' },
];

/** Follows a new session through pending → starting → running, then opens the viewer. */
export function LaunchProgress({ sessionId }: { sessionId: string }) {
  const navigate = useNavigate();
  const { data: session, error } = useSession(sessionId);
  const state = session?.state ?? 'pending';
  const reached = STEPS.findIndex((step) => step.state === state);

  useEffect(() => {
    if (state === 'running') void navigate(`/sessions/${sessionId}/view`);
  }, [navigate, sessionId, state]);

  if (state === 'failed' || state === 'stopped' || state === 'stopping') {
    return <InlineError message={`The session did not start: ${session?.stateReason || state}.`} />;
  }
  return (
    <div>
      <ol className="steps" aria-label="Launch progress">
        {STEPS.map((step, index) => (
          <li
            key={step.state}
            className={
              index < reached ? 'step step-done' : index === reached ? 'step step-current' : 'step'
            }
            aria-current={index === reached ? 'step' : undefined}
            data-state={step.state}
          >
            {step.label}
          </li>
        ))}
      </ol>
      <p className="muted" role="status" aria-live="polite">
        {session?.stateReason || `Session is ${state}.`}
      </p>
      <InlineError message={error ? errorMessage(error) : null} />
    </div>
  );
}
