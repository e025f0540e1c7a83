import { Link } from 'react-router';
import { useNow } from '../../components/use-now';
import { NOT_FOUND_MESSAGE, type ViewerStatus } from './viewer-status';

interface OverlayActions {
  onReconnect(): void;
  onWake(): void;
  wakePending: boolean;
  wakeError: string | null;
}

/** The message over the desktop for every state but "connected". */
export function StatusOverlay({
  status,
  actions,
}: {
  status: ViewerStatus;
  actions: OverlayActions;
}) {
  const now = useNow(500);
  if (status.kind === 'connected') return null;
  const seconds = 'retryAt' in status ? Math.max(0, Math.ceil((status.retryAt - now) / 1000)) : 0;
  const back = (
    <Link className="btn" to="/sessions">
      Back to my sessions
    </Link>
  );
  const reconnect = (
    <button type="button" className="btn btn-primary" onClick={actions.onReconnect}>
      Reconnect now
    </button>
  );

  let title: string;
  let detail: string | null = null;
  let elapsed: number | null = null;
  let buttons = back;
  switch (status.kind) {
    case 'connecting':
      title = 'Connecting to the desktop…';
      break;
    case 'reconnecting':
      title = 'Connection lost. Reconnecting…';
      detail = `${capitalise(status.reason)}. Trying again in ${seconds} s.`;
      buttons = reconnect;
      break;
    case 'agent_offline':
      title = 'The agent running this session is offline';
      detail = `The session is kept; it comes back with the agent. Trying again in ${seconds} s.`;
      buttons = reconnect;
      break;
    case 'waiting':
      title = status.state === 'waking' ? 'Waking the session…' : 'The session is starting…';
      detail = 'The desktop opens as soon as it is running.';
      elapsed = Math.max(0, Math.floor((now - status.since) / 1000));
      break;
    case 'hibernated':
      title = status.settled ? 'This session is hibernated' : 'The session is hibernating…';
      detail = status.settled
        ? 'Its compute was released; the home directory is kept. Wake it to continue.'
        : 'Its compute is being released; the home directory is kept.';
      buttons = (
        <>
          <button
            type="button"
            className="btn btn-primary"
            onClick={actions.onWake}
            disabled={actions.wakePending || !status.settled}
          >
            {actions.wakePending ? 'Waking…' : 'Wake session'}
          </button>
          {back}
        </>
      );
      break;
    case 'ended':
      title = status.state === 'failed' ? 'This session failed' : 'This session has stopped';
      detail = status.reason || null;
      break;
    case 'not_found':
      title = NOT_FOUND_MESSAGE;
      break;
    case 'disconnected':
      title = 'Disconnected';
      detail = 'The session keeps running until it is idle.';
      buttons = (
        <>
          {reconnect}
          {back}
        </>
      );
      break;
    case 'error':
      title = 'Cannot show the desktop';
      detail = status.message;
      buttons = (
        <>
          {reconnect}
          {back}
        </>
      );
      break;
  }

  const busy =
    status.kind === 'connecting' ||
    status.kind === 'waiting' ||
    (status.kind === 'hibernated' && !status.settled);
  return (
    <div className="viewer-overlay" data-status={status.kind} role="status" aria-live="polite">
      <div className="viewer-overlay-card">
        {busy ? <span className="spinner" aria-hidden="true" /> : null}
        <h2>{title}</h2>
        {detail ? <p>{detail}</p> : null}
        {/* Left out of the live region's speech: a number ticking every second is noise. */}
        {elapsed === null ? null : (
          <p className="muted overlay-elapsed" aria-hidden="true">
            {elapsed} s
          </p>
        )}
        {status.kind === 'hibernated' && actions.wakeError ? (
          <p className="inline-error" role="alert">
            {actions.wakeError}
          </p>
        ) : null}
        <div className="actions actions-center">{buttons}</div>
      </div>
    </div>
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
