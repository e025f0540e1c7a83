import type { Session } from '@streamspace/protocol';
import { RelativeTime } from '../../components/relative-time';
import { StateBadge } from '../../components/state-badge';
import { IdleCountdown } from './idle-countdown';
import { SessionActions } from './session-actions';
import { useSessionMutation } from './use-sessions';

/**
 * Sessions as a table at laptop widths and as stacked cards on phones (the stylesheet
 * turns each row into a card and shows each cell's data-label).
 */
export function SessionTable({ sessions, showUser }: { sessions: Session[]; showUser: boolean }) {
  const keepAlive = useSessionMutation();
  return (
    <table className="table table-cards">
      <thead>
        <tr>
          <th scope="col">Template</th>
          <th scope="col">State</th>
          {showUser ? <th scope="col">User</th> : null}
          <th scope="col">Platform</th>
          <th scope="col">Agent</th>
          <th scope="col">Created</th>
          <th scope="col">Last activity</th>
          <th scope="col">Idle</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {sessions.map((session) => (
          <tr key={session.id} data-session-id={session.id}>
            <td data-label="Template" className="cell-title">
              {session.templateName}
            </td>
            <td data-label="State">
              <StateBadge state={session.state} />
              {session.stateReason ? (
                <span className="cell-reason">{session.stateReason}</span>
              ) : null}
            </td>
            {showUser ? <td data-label="User">{session.username}</td> : null}
            <td data-label="Platform">{session.platform}</td>
            <td data-label="Agent">{session.agentName ?? <span className="muted">—</span>}</td>
            <td data-label="Created">
              <RelativeTime iso={session.createdAt} />
            </td>
            <td data-label="Last activity">
              <RelativeTime iso={session.lastActivityAt} />
            </td>
            <td data-label="Idle">
              <IdleCountdown
                session={session}
                onKeepAlive={() => keepAlive.mutate({ id: session.id, action: 'keepalive' })}
              />
            </td>
            <td data-label="Actions">
              <SessionActions session={session} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
