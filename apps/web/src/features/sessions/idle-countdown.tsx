import type { Session } from '@streamspace/protocol';
import { useNow } from '../../components/use-now';
import { formatDuration } from './format-duration';

/** Show the countdown as a warning below this many ms. */
export const IDLE_WARN_MS = 5 * 60_000;

/** "Hibernates in 4m 12s if idle" for a running session with an idle deadline. */
export function IdleCountdown({
  session,
  onKeepAlive,
}: {
  session: Session;
  onKeepAlive?: () => void;
}) {
  const now = useNow(1000);
  if (session.state !== 'running' || !session.hibernateAt) {
    return <span className="muted">—</span>;
  }
  const left = Date.parse(session.hibernateAt) - now;
  const warn = left < IDLE_WARN_MS;
  return (
    <span className={warn ? 'countdown countdown-warn' : 'countdown'}>
      <span title={`Idle hibernation at ${new Date(session.hibernateAt).toLocaleString()}`}>
        {left > 0 ? `Hibernates in ${formatDuration(left)}` : 'Hibernating soon'}
      </span>
      {warn && onKeepAlive ? (
        <button type="button" className="btn btn-link" onClick={onKeepAlive}>
          Keep alive
        </button>
      ) : null}
    </span>
  );
}

/** Over the desktop: the idle warning only once it matters, with Keep alive. */
export function IdleBanner({
  session,
  onKeepAlive,
}: {
  session: Session;
  onKeepAlive: () => void;
}) {
  const now = useNow(1000);
  if (session.state !== 'running' || !session.hibernateAt) return null;
  if (Date.parse(session.hibernateAt) - now >= IDLE_WARN_MS) return null;
  return (
    <div className="idle-banner" role="status">
      <IdleCountdown session={session} onKeepAlive={onKeepAlive} />
    </div>
  );
}
