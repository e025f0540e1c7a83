import {
  NOT_STOPPED_SESSION_STATES,
  SESSION_STATES,
  type SessionState,
} from '@streamspace/protocol';
import { useState } from 'react';
import { SearchFilter, SelectFilter } from '../components/list-filters';
import { LoadMore } from '../components/load-more';
import { PageHeader } from '../components/page-header';
import { useDebouncedValue } from '../components/use-debounced-value';
import { QueryStatus } from '../components/query-status';
import { LiveIndicator } from '../features/live/live-indicator';
import { SessionTable } from '../features/sessions/session-table';
import { useSessionList } from '../features/sessions/use-sessions';

/** The state filter's choices: the server filters, so every page is full. */
const STATE_FILTERS: Record<string, { label: string; states?: readonly SessionState[] }> = {
  'not-stopped': {
    label: 'Not stopped',
    states: NOT_STOPPED_SESSION_STATES,
  },
  any: { label: 'Any state' },
  ...Object.fromEntries(SESSION_STATES.map((state) => [state, { label: state, states: [state] }])),
};

export function AdminSessionsPage() {
  const [stateFilter, setStateFilter] = useState('not-stopped');
  const [userInput, setUserInput] = useState('');
  const user = useDebouncedValue(userInput.trim());
  const sessions = useSessionList('all', {
    states: STATE_FILTERS[stateFilter]?.states,
    user: user === '' ? undefined : user,
  });

  return (
    <>
      <PageHeader title="All sessions">
        <LiveIndicator />
        <SearchFilter
          id="session-user-filter"
          label="User"
          value={userInput}
          maxLength={32}
          onChange={setUserInput}
        />
        <SelectFilter
          id="session-state-filter"
          label="State"
          value={stateFilter}
          options={Object.entries(STATE_FILTERS).map(([value, { label }]) => ({ value, label }))}
          onChange={setStateFilter}
        />
      </PageHeader>
      <QueryStatus query={sessions} loading="Loading sessions" errorTitle="Cannot load sessions" />
      {sessions.data && sessions.sessions.length === 0 ? (
        <p className="empty">No sessions match these filters.</p>
      ) : null}
      {sessions.sessions.length > 0 ? <SessionTable sessions={sessions.sessions} showUser /> : null}
      <LoadMore query={sessions} shown={sessions.sessions.length} noun="sessions" />
    </>
  );
}
