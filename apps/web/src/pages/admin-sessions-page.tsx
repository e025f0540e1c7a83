import { useState } from 'react';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { LiveIndicator } from '../features/live/live-indicator';
import { SessionTable } from '../features/sessions/session-table';
import { useSessionList } from '../features/sessions/use-sessions';

export function AdminSessionsPage() {
  const sessions = useSessionList('all');
  const [showStopped, setShowStopped] = useState(false);
  const visible = (sessions.data ?? []).filter(
    (session) => showStopped || session.state !== 'stopped',
  );

  return (
    <>
      <PageHeader title="All sessions">
        <LiveIndicator />
        <label className="checkbox">
          <input
            type="checkbox"
            checked={showStopped}
            onChange={(event) => setShowStopped(event.target.checked)}
          />
          Show stopped
        </label>
      </PageHeader>
      <QueryStatus query={sessions} loading="Loading sessions" errorTitle="Cannot load sessions" />
      {sessions.data && visible.length === 0 ? <p className="empty">No sessions.</p> : null}
      {visible.length > 0 ? <SessionTable sessions={visible} showUser /> : null}
    </>
  );
}
