import { AgentStatus, PLATFORMS, type Agent, type Platform } from '@streamspace/protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { agentsApi } from '../api/admin-api';
import { errorMessage } from '../api/api-error';
import { queryKeys } from '../api/query-keys';
import { Dialog } from '../components/confirm-dialog';
import { CardTable, Cell } from '../components/card-table';
import { InlineError } from '../components/error-panel';
import { SearchFilter, SelectFilter } from '../components/list-filters';
import { LoadMore } from '../components/load-more';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { StateBadge } from '../components/state-badge';
import { useDebouncedValue } from '../components/use-debounced-value';
import { useNow } from '../components/use-now';
import { EnrollmentDialog } from '../features/admin/enrollment-dialog';
import { useAgentList } from '../features/admin/use-agent-list';
import { formatDuration } from '../features/sessions/format-duration';
import { LiveIndicator } from '../features/live/live-indicator';

const ANY = '';
const ANY_OPTION = { value: ANY, label: 'Any' } as const;

export function AdminAgentsPage() {
  const [status, setStatus] = useState<AgentStatus | typeof ANY>(ANY);
  const [platform, setPlatform] = useState<Platform | typeof ANY>(ANY);
  const [nameInput, setNameInput] = useState('');
  const name = useDebouncedValue(nameInput.trim());
  const filtered = status !== ANY || platform !== ANY || name !== '';
  const agents = useAgentList({
    status: status === ANY ? undefined : status,
    platform: platform === ANY ? undefined : platform,
    name: name === '' ? undefined : name,
  });
  const [adding, setAdding] = useState(false);

  return (
    <>
      <PageHeader title="Agents">
        <LiveIndicator />
        <SearchFilter
          id="agent-name-filter"
          label="Name"
          value={nameInput}
          maxLength={64}
          onChange={setNameInput}
        />
        <SelectFilter
          id="agent-status-filter"
          label="Status"
          value={status}
          options={[ANY_OPTION, ...AgentStatus.options.map((value) => ({ value, label: value }))]}
          onChange={setStatus}
        />
        <SelectFilter
          id="agent-platform-filter"
          label="Platform"
          value={platform}
          options={[ANY_OPTION, ...PLATFORMS.map((value) => ({ value, label: value }))]}
          onChange={setPlatform}
        />
        <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
          Add agent
        </button>
      </PageHeader>
      <QueryStatus query={agents} loading="Loading agents" errorTitle="Cannot load agents" />
      {agents.data && agents.agents.length === 0 ? (
        <p className="empty">
          {filtered ? 'No agents match these filters.' : 'No agents yet. Add one to run sessions.'}
        </p>
      ) : null}
      {agents.agents.length > 0 ? <AgentTable agents={agents.agents} /> : null}
      <LoadMore query={agents} shown={agents.agents.length} noun="agents" />
      {adding ? <EnrollmentDialog onClose={() => setAdding(false)} /> : null}
    </>
  );
}

function AgentTable({ agents }: { agents: Agent[] }) {
  const now = useNow(1000);
  return (
    <CardTable columns={['Name', 'Platform', 'Region', 'Status', 'Sessions', 'Version']}>
      {agents.map((agent) => (
        <tr key={agent.id} data-agent-id={agent.id} data-agent-name={agent.name}>
          <Cell label="Name" className="cell-title">
            {agent.name}
          </Cell>
          <Cell label="Platform">{agent.platform}</Cell>
          <Cell label="Region">{agent.region || <span className="muted">—</span>}</Cell>
          <Cell label="Status">
            <StateBadge state={agent.status} />
            <span className="cell-reason">
              {agent.lastHeartbeatAt
                ? `heartbeat ${heartbeatAge(now - Date.parse(agent.lastHeartbeatAt))} ago`
                : 'no heartbeat yet'}
            </span>
          </Cell>
          <Cell label="Sessions">
            <Capacity used={agent.sessionCount} max={agent.capacity.maxSessions} />
          </Cell>
          <Cell label="Version">{agent.agentVersion ?? <span className="muted">—</span>}</Cell>
          <Cell label="Actions">
            <AgentActions agent={agent} />
          </Cell>
        </tr>
      ))}
    </CardTable>
  );
}

function heartbeatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : formatDuration(ms);
}

function Capacity({ used, max }: { used: number; max: number }) {
  return (
    <span className="capacity">
      <span>
        {used} / {max}
      </span>
      <meter
        min={0}
        max={Math.max(max, 1)}
        value={used}
        high={max * 0.8}
        aria-label="Sessions in use"
      />
    </span>
  );
}

function AgentActions({ agent }: { agent: Agent }) {
  const queryClient = useQueryClient();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.agents });
  const drain = useMutation({
    mutationFn: (draining: boolean) => agentsApi.update(agent.id, { draining }),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: () => agentsApi.remove(agent.id), onSuccess: refresh });
  const error = drain.error ?? remove.error;

  return (
    <div className="actions">
      {agent.status === 'draining' ? (
        <button
          type="button"
          className="btn btn-small"
          onClick={() => drain.mutate(false)}
          aria-label={`Undrain ${agent.name}`}
        >
          Undrain
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-small"
          onClick={() => drain.mutate(true)}
          aria-label={`Drain ${agent.name}`}
        >
          Drain
        </button>
      )}
      <button
        type="button"
        className="btn btn-small btn-danger"
        onClick={() => setConfirmDelete(true)}
        aria-label={`Delete ${agent.name}`}
      >
        Delete
      </button>
      <InlineError message={error ? errorMessage(error) : null} />
      <Dialog
        open={confirmDelete}
        title={`Delete agent ${agent.name}?`}
        onClose={() => setConfirmDelete(false)}
      >
        <p>
          Its connection closes and its credential stops working. Sessions on it (
          {agent.sessionCount}) can no longer be reached until it is enrolled again.
        </p>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-danger"
            onClick={() => {
              setConfirmDelete(false);
              remove.mutate();
            }}
          >
            Delete agent
          </button>
        </div>
      </Dialog>
    </div>
  );
}
