import type { Agent } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { agentsApi } from '../api/admin-api';
import { errorMessage } from '../api/api-error';
import { queryKeys } from '../api/query-keys';
import { Dialog } from '../components/confirm-dialog';
import { ErrorPanel, InlineError } from '../components/error-panel';
import { PageHeader } from '../components/page-header';
import { Spinner } from '../components/spinner';
import { StateBadge } from '../components/state-badge';
import { useNow } from '../components/use-now';
import { EnrollmentDialog } from '../features/admin/enrollment-dialog';
import { formatDuration } from '../features/sessions/format-duration';
import { LiveIndicator } from '../features/live/live-indicator';
import { useRefetchInterval } from '../features/live/live-events';

export function AdminAgentsPage() {
  const agents = useQuery({
    queryKey: queryKeys.agents,
    queryFn: agentsApi.list,
    refetchInterval: useRefetchInterval(),
  });
  const [adding, setAdding] = useState(false);

  return (
    <>
      <PageHeader title="Agents">
        <LiveIndicator />
        <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
          Add agent
        </button>
      </PageHeader>
      {agents.isPending ? <Spinner label="Loading agents" /> : null}
      {agents.error ? (
        <ErrorPanel title="Cannot load agents" message={errorMessage(agents.error)} />
      ) : null}
      {agents.data?.length === 0 ? (
        <p className="empty">No agents yet. Add one to run sessions.</p>
      ) : null}
      {agents.data && agents.data.length > 0 ? <AgentTable agents={agents.data} /> : null}
      {adding ? <EnrollmentDialog onClose={() => setAdding(false)} /> : null}
    </>
  );
}

function AgentTable({ agents }: { agents: Agent[] }) {
  const now = useNow(1000);
  return (
    <table className="table table-cards">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Platform</th>
          <th scope="col">Region</th>
          <th scope="col">Status</th>
          <th scope="col">Sessions</th>
          <th scope="col">Version</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {agents.map((agent) => (
          <tr key={agent.id} data-agent-id={agent.id} data-agent-name={agent.name}>
            <td data-label="Name" className="cell-title">
              <div className="cell">{agent.name}</div>
            </td>
            <td data-label="Platform">
              <div className="cell">{agent.platform}</div>
            </td>
            <td data-label="Region">
              <div className="cell">{agent.region || <span className="muted">—</span>}</div>
            </td>
            <td data-label="Status">
              <div className="cell">
                <StateBadge state={agent.status} />
                <span className="cell-reason">
                  {agent.lastHeartbeatAt
                    ? `heartbeat ${heartbeatAge(now - Date.parse(agent.lastHeartbeatAt))} ago`
                    : 'no heartbeat yet'}
                </span>
              </div>
            </td>
            <td data-label="Sessions">
              <div className="cell">
                <Capacity used={agent.sessionCount} max={agent.capacity.maxSessions} />
              </div>
            </td>
            <td data-label="Version">
              <div className="cell">{agent.agentVersion ?? <span className="muted">—</span>}</div>
            </td>
            <td data-label="Actions">
              <div className="cell">
                <AgentActions agent={agent} />
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
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
