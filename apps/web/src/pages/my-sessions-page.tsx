import { Link } from 'react-router';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { LiveIndicator } from '../features/live/live-indicator';
import { SessionTable } from '../features/sessions/session-table';
import { useSessionList } from '../features/sessions/use-sessions';

export function MySessionsPage() {
  const sessions = useSessionList('own');
  const visible = (sessions.data ?? []).filter((session) => session.state !== 'stopped');
  const stopped = (sessions.data ?? []).filter((session) => session.state === 'stopped');

  return (
    <>
      <PageHeader title="My sessions">
        <LiveIndicator />
      </PageHeader>
      <QueryStatus
        query={sessions}
        loading="Loading sessions"
        errorTitle="Cannot load your sessions"
      />
      {sessions.data && visible.length === 0 ? (
        <p className="empty">
          You have no active sessions. <Link to="/">Launch an app</Link> to start one.
        </p>
      ) : null}
      {visible.length > 0 ? <SessionTable sessions={visible} showUser={false} /> : null}
      {stopped.length > 0 ? (
        <details className="stopped-sessions">
          <summary>Stopped sessions ({stopped.length})</summary>
          <SessionTable sessions={stopped} showUser={false} />
        </details>
      ) : null}
    </>
  );
}
