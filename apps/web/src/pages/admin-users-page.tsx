import type { Role, User } from '@streamspace/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { usersApi } from '../api/admin-api';
import { errorMessage } from '../api/api-error';
import { queryKeys } from '../api/query-keys';
import { Dialog } from '../components/confirm-dialog';
import { CardTable, Cell } from '../components/card-table';
import { InlineError } from '../components/error-panel';
import { PageHeader } from '../components/page-header';
import { QueryStatus } from '../components/query-status';
import { RelativeTime } from '../components/relative-time';
import { useCurrentUser } from '../features/auth/auth-provider';
import { LimitsForm, NewUserForm, PasswordForm } from '../features/admin/user-forms';

export function AdminUsersPage() {
  const users = useQuery({ queryKey: queryKeys.users, queryFn: usersApi.list });
  const [creating, setCreating] = useState(false);

  return (
    <>
      <PageHeader title="Users">
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          New user
        </button>
      </PageHeader>
      <QueryStatus query={users} loading="Loading users" errorTitle="Cannot load users" />
      {users.data ? (
        <CardTable columns={['User', 'Role', 'Status', 'Session limits', 'Created']}>
          {users.data.map((user) => (
            <UserRow key={user.id} user={user} />
          ))}
        </CardTable>
      ) : null}
      <Dialog open={creating} title="New user" onClose={() => setCreating(false)}>
        {creating ? <NewUserForm onDone={() => setCreating(false)} /> : null}
      </Dialog>
    </>
  );
}

function UserRow({ user }: { user: User }) {
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const [resetting, setResetting] = useState(false);
  const [limiting, setLimiting] = useState(false);
  const update = useMutation({
    mutationFn: (body: Parameters<typeof usersApi.update>[1]) => usersApi.update(user.id, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users }),
  });
  const self = user.id === me.id;

  return (
    <tr data-user={user.username}>
      <Cell label="User" className="cell-title">
        {user.username}
        {self ? <span className="muted"> (you)</span> : null}
      </Cell>
      <Cell label="Role">
        <select
          aria-label={`Role of ${user.username}`}
          value={user.role}
          disabled={self || update.isPending}
          onChange={(event) => update.mutate({ role: event.target.value as Role })}
        >
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </Cell>
      <Cell label="Status">
        <span className={user.disabled ? 'badge badge-bad' : 'badge badge-ok'}>
          {user.disabled ? 'disabled' : 'active'}
        </span>
      </Cell>
      <Cell label="Session limits">
        idle {minutes(user.idleTimeoutMinutes)} · max {minutes(user.maxDurationMinutes)}
      </Cell>
      <Cell label="Created">
        <RelativeTime iso={user.createdAt} />
      </Cell>
      <Cell label="Actions">
        <div className="actions">
          <button
            type="button"
            className="btn btn-small"
            disabled={self || update.isPending}
            onClick={() => update.mutate({ disabled: !user.disabled })}
            aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.username}`}
          >
            {user.disabled ? 'Enable' : 'Disable'}
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => setResetting(true)}
            aria-label={`Reset password of ${user.username}`}
          >
            Reset password
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => setLimiting(true)}
            aria-label={`Session limits of ${user.username}`}
          >
            Limits
          </button>
          <InlineError message={update.error ? errorMessage(update.error) : null} />
        </div>
        <Dialog
          open={resetting}
          title={`New password for ${user.username}`}
          onClose={() => setResetting(false)}
        >
          {resetting ? <PasswordForm userId={user.id} onDone={() => setResetting(false)} /> : null}
        </Dialog>
        <Dialog
          open={limiting}
          title={`Session limits for ${user.username}`}
          onClose={() => setLimiting(false)}
        >
          {limiting ? <LimitsForm user={user} onDone={() => setLimiting(false)} /> : null}
        </Dialog>
      </Cell>
    </tr>
  );
}

/** Null means the user has no limit of their own: the template's or the global one applies. */
function minutes(value: number | null): string {
  return value === null ? 'default' : `${value} min`;
}
