import { Link, useParams } from 'react-router';
import { errorMessage, isApiError } from '../api/api-error';
import { ErrorPanel } from '../components/error-panel';
import { PageHeader } from '../components/page-header';
import { RelativeTime } from '../components/relative-time';
import { Spinner } from '../components/spinner';
import { StateBadge } from '../components/state-badge';
import { IdleCountdown } from '../features/sessions/idle-countdown';
import { SessionActions } from '../features/sessions/session-actions';
import { SessionTimeline } from '../features/sessions/session-timeline';
import {
  useSession,
  useSessionEvents,
  useSessionMutation,
} from '../features/sessions/use-sessions';
import { NOT_FOUND_MESSAGE } from '../features/viewer/viewer-status';

export function SessionDetailPage() {
  const { id = '' } = useParams();
  const session = useSession(id);
  const events = useSessionEvents(id);
  const keepAlive = useSessionMutation();

  if (session.isPending) return <Spinner label="Loading the session" />;
  if (session.error) {
    return isApiError(session.error) && session.error.status === 404 ? (
      <ErrorPanel
        title={NOT_FOUND_MESSAGE}
        message="Check the link, or open one of your own sessions."
      >
        <Link to="/sessions">Back to my sessions</Link>
      </ErrorPanel>
    ) : (
      <ErrorPanel title="Cannot load the session" message={errorMessage(session.error)} />
    );
  }
  const s = session.data;
  const details = Object.entries(s.details);

  return (
    <>
      <PageHeader title={s.templateName}>
        <StateBadge state={s.state} />
      </PageHeader>
      <SessionActions session={s} showDetails={false} />
      <div className="detail-grid">
        <section className="card" aria-labelledby="overview-title">
          <h2 id="overview-title">Overview</h2>
          <dl className="facts">
            <dt>Why this state</dt>
            <dd>{s.stateReason || '—'}</dd>
            <dt>Owner</dt>
            <dd>{s.username}</dd>
            <dt>Platform</dt>
            <dd>{s.platform}</dd>
            <dt>Agent</dt>
            <dd>{s.agentName ?? '—'}</dd>
            <dt>Created</dt>
            <dd>
              <RelativeTime iso={s.createdAt} />
            </dd>
            <dt>Last activity</dt>
            <dd>
              <RelativeTime iso={s.lastActivityAt} />
            </dd>
            <dt>Viewers</dt>
            <dd>{s.viewerCount}</dd>
            <dt>Idle timeout</dt>
            <dd>{s.idleTimeoutMinutes ? `${s.idleTimeoutMinutes} min` : 'none'}</dd>
            <dt>Idle hibernation</dt>
            <dd>
              <IdleCountdown
                session={s}
                onKeepAlive={() => keepAlive.mutate({ id: s.id, action: 'keepalive' })}
              />
            </dd>
            <dt>Maximum duration ends</dt>
            <dd>
              <RelativeTime iso={s.stopAt} />
            </dd>
            <dt>Session id</dt>
            <dd className="mono">{s.id}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="platform-title">
          <h2 id="platform-title">Platform details</h2>
          {details.length === 0 ? (
            <p className="empty">The agent has reported no details yet.</p>
          ) : (
            <dl className="facts">
              {details.map(([key, value]) => (
                <div key={key} className="fact">
                  <dt>{key}</dt>
                  <dd className="mono">{value}</dd>
                </div>
              ))}
            </dl>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {events.isPending ? <Spinner label="Loading events" /> : null}
        {events.error ? <p className="inline-error">{errorMessage(events.error)}</p> : null}
        {events.data ? <SessionTimeline events={events.data} /> : null}
      </section>
    </>
  );
}
