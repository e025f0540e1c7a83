import { CreateUserRequest, UpdateUserRequest, type Role } from '@streamspace/protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { usersApi } from '../../api/admin-api';
import { errorMessage } from '../../api/api-error';
import { queryKeys } from '../../api/query-keys';
import { InlineError } from '../../components/error-panel';

function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

export function NewUserForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [invalid, setInvalid] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: usersApi.create,
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.users });
      onDone();
    },
  });

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = CreateUserRequest.safeParse({ username: username.trim(), password, role });
        if (!parsed.success) return setInvalid(issues(parsed.error));
        setInvalid(null);
        create.mutate(parsed.data);
      }}
    >
      <label htmlFor="new-username">Username</label>
      <input
        id="new-username"
        autoComplete="off"
        required
        value={username}
        onChange={(event) => setUsername(event.target.value)}
      />
      <label htmlFor="new-password">Password (at least 8 characters)</label>
      <input
        id="new-password"
        type="password"
        autoComplete="new-password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <label htmlFor="new-role">Role</label>
      <select id="new-role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
        <option value="user">user</option>
        <option value="admin">admin</option>
      </select>
      <InlineError message={invalid ?? (create.error ? errorMessage(create.error) : null)} />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create user
        </button>
      </div>
    </form>
  );
}

export function PasswordForm({ userId, onDone }: { userId: string; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const reset = useMutation({
    mutationFn: (value: string) => usersApi.update(userId, { password: value }),
    onSuccess: onDone,
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = UpdateUserRequest.safeParse({ password });
        if (!parsed.success) return setInvalid(issues(parsed.error));
        setInvalid(null);
        reset.mutate(password);
      }}
    >
      <label htmlFor="reset-password">New password (at least 8 characters)</label>
      <input
        id="reset-password"
        type="password"
        autoComplete="new-password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <InlineError message={invalid ?? (reset.error ? errorMessage(reset.error) : null)} />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={reset.isPending}>
          Set password
        </button>
      </div>
    </form>
  );
}
