import type { Session } from '@streamspace/protocol';
import { CardTable, Cell } from '../../components/card-table';
import { RelativeTime } from '../../components/relative-time';
import { StateBadge } from '../../components/state-badge';
import { IdleCountdown } from './idle-countdown';
import { SessionActions } from './session-actions';
import { useSessionMutation } from './use-sessions';

/** Sessions as a table at laptop widths and as stacked cards on phones (CardTable). */
export function SessionTable({ sessions, showUser }: { sessions: Session[]; showUser: boolean }) {
  const keepAlive = useSessionMutation();
  const columns = [
    'Template',
    'State',
    ...(showUser ? ['User'] : []),
    'Platform',
    'Agent',
    'Created',
    'Last activity',
    'Idle',
  ];
  return (
    <CardTable columns={columns}>
      {sessions.map((session) => (
        <tr key={session.id} data-session-id={session.id}>
          <Cell label="Template" className="cell-title">
            {session.templateName}
          </Cell>
          <Cell label="State">
            <StateBadge state={session.state} />
            {session.stateReason ? (
              <span className="cell-reason">{session.stateReason}</span>
            ) : null}
          </Cell>
          {showUser ? <Cell label="User">{session.username}</Cell> : null}
          <Cell label="Platform">{session.platform}</Cell>
          <Cell label="Agent">{session.agentName ?? <span className="muted">—</span>}</Cell>
          <Cell label="Created">
            <RelativeTime iso={session.createdAt} />
          </Cell>
          <Cell label="Last activity">
            <RelativeTime iso={session.lastActivityAt} />
          </Cell>
          <Cell label="Idle">
            <IdleCountdown
              session={session}
              onKeepAlive={() => keepAlive.mutate({ id: session.id, action: 'keepalive' })}
            />
          </Cell>
          <Cell label="Actions">
            <SessionActions session={session} />
          </Cell>
        </tr>
      ))}
    </CardTable>
  );
}
