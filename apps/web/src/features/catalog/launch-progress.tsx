import { useEffect } from 'react';
import { useNavigate } from 'react-router';
import { errorMessage } from '../../api/api-error';
import { InlineError } from '../../components/error-panel';
import { useNow } from '../../components/use-now';
import { useSession } from '../sessions/use-sessions';
import { launchSteps } from './launch-steps';

const STEP_CLASS = { done: 'step step-done', current: 'step step-current', todo: 'step' };

/**
 * Follows a launch from the moment it is requested (`sessionId` null: the control plane is
 * choosing an agent) through starting to running, then opens the viewer, which shows the
 * last step ("Connecting to the desktop…") itself.
 */
export function LaunchProgress({
  sessionId,
  startedAt,
}: {
  sessionId: string | null;
  /** When the user pressed Launch (ms since the epoch), for the elapsed time. */
  startedAt: number;
}) {
  const navigate = useNavigate();
  const now = useNow(1_000);
  const { data: session, error } = useSession(sessionId ?? '', { enabled: sessionId !== null });
  const state = session?.state;

  useEffect(() => {
    if (state === 'running') void navigate(`/sessions/${sessionId}/view`);
  }, [navigate, sessionId, state]);

  if (state === 'failed' || state === 'stopped' || state === 'stopping') {
    return <InlineError message={`The session did not start: ${session?.stateReason || state}.`} />;
  }
  const steps = launchSteps(session);
  const reason =
    session === undefined
      ? 'Asking the control plane for an agent…'
      : state === 'running'
        ? 'Opening the desktop…'
        : capitalise(session.stateReason || `session is ${state}`);
  const seconds = Math.max(0, Math.floor((now - startedAt) / 1000));
  return (
    <div data-testid="launch-progress" data-state={state ?? 'requested'}>
      <ol className="steps" aria-label="Launch progress">
        {steps.map((step) => (
          <li
            key={step.key}
            className={STEP_CLASS[step.status]}
            aria-current={step.status === 'current' ? 'step' : undefined}
            data-step={step.key}
          >
            {step.label}
          </li>
        ))}
      </ol>
      <p className="muted launch-reason">
        {/* Only the reason is announced; the ticking seconds would be noise to a reader. */}
        <span role="status" aria-live="polite">
          {reason}
        </span>
        <span className="launch-elapsed" aria-hidden="true">
          {' · '}
          {seconds} s
        </span>
      </p>
      <InlineError message={error ? errorMessage(error) : null} />
    </div>
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
