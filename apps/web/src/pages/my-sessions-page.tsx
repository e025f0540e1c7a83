import { NOT_STOPPED_SESSION_STATES } from '@streamspace/protocol';
import { Link } from 'react-router';
import { LoadMore } from '../components/load-more';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { LiveIndicator } from '../features/live/live-indicator';
import { SessionTable } from '../features/sessions/session-table';
import { useSessionList } from '../features/sessions/use-sessions';

const NOT_STOPPED = { states: NOT_STOPPED_SESSION_STATES };
const STOPPED = { states: ['stopped'] as const };

export function MySessionsPage() {
  // Two paged lists: the sessions a user acts on never wait behind pages of stopped ones.
  const active = useSessionList('own', NOT_STOPPED);
  const stopped = useSessionList('own', STOPPED);

  return (
    <>
      <PageHeader title="My sessions">
        <LiveIndicator />
      </PageHeader>
      <QueryStatus
        query={active}
        loading="Loading sessions"
        errorTitle="Cannot load your sessions"
      />
      {active.data && active.sessions.length === 0 ? (
        <p className="empty">
          You have no active sessions. <Link to="/">Launch an app</Link> to start one.
        </p>
      ) : null}
      {active.sessions.length > 0 ? (
        <SessionTable sessions={active.sessions} showUser={false} />
      ) : null}
      <LoadMore query={active} shown={active.sessions.length} noun="sessions" />
      {stopped.sessions.length > 0 ? (
        <details className="stopped-sessions">
          <summary>
            Stopped sessions ({stopped.sessions.length}
            {stopped.hasNextPage ? '+' : ''})
          </summary>
          <SessionTable sessions={stopped.sessions} showUser={false} />
          <LoadMore query={stopped} shown={stopped.sessions.length} noun="stopped sessions" />
        </details>
      ) : null}
    </>
  );
}
