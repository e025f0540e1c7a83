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
              <div className="cell">{session.templateName}</div>
            </td>
            <td data-label="State">
              <div className="cell">
                <StateBadge state={session.state} />
                {session.stateReason ? (
                  <span className="cell-reason">{session.stateReason}</span>
                ) : null}
              </div>
            </td>
            {showUser ? (
              <td data-label="User">
                <div className="cell">{session.username}</div>
              </td>
            ) : null}
            <td data-label="Platform">
              <div className="cell">{session.platform}</div>
            </td>
            <td data-label="Agent">
              <div className="cell">{session.agentName ?? <span className="muted">—</span>}</div>
            </td>
            <td data-label="Created">
              <div className="cell">
                <RelativeTime iso={session.createdAt} />
              </div>
            </td>
            <td data-label="Last activity">
              <div className="cell">
                <RelativeTime iso={session.lastActivityAt} />
              </div>
            </td>
            <td data-label="Idle">
              <div className="cell">
                <IdleCountdown
                  session={session}
                  onKeepAlive={() => keepAlive.mutate({ id: session.id, action: 'keepalive' })}
                />
              </div>
            </td>
            <td data-label="Actions">
              <div className="cell">
                <SessionActions session={session} />
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
