import type { SessionEvent } from '@streamspace/protocol';

const KIND_LABEL: Record<SessionEvent['kind'], string> = {
  transition: 'State change',
  viewer_connected: 'Viewer connected',
  viewer_disconnected: 'Viewer disconnected',
  warning: 'Warning',
  info: 'Info',
};

/** The session's events, oldest first, each saying who did it and why. */
export function SessionTimeline({ events }: { events: SessionEvent[] }) {
  if (events.length === 0) return <p className="empty">No events yet.</p>;
  return (
    <ol className="timeline">
      {events.map((event) => (
        <li key={event.id} className={`timeline-item timeline-${event.kind}`}>
          <time dateTime={event.at}>{new Date(event.at).toLocaleString()}</time>
          <div>
            <strong>
              {event.kind === 'transition' && event.toState
                ? `${event.fromState ?? 'new'} → ${event.toState}`
                : KIND_LABEL[event.kind]}
            </strong>{' '}
            <span className="muted">by {event.actor}</span>
            {event.reason ? <p className="timeline-reason">{event.reason}</p> : null}
          </div>
        </li>
      ))}
    </ol>
  );
}
