import { CreateUserRequest, UpdateUserRequest, type Role, type User } from '@streamspace/protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { usersApi } from '../../api/admin-api';
import { errorMessage } from '../../api/api-error';
import { queryKeys } from '../../api/query-keys';
import { InlineError } from '../../components/error-panel';
import { FormActions } from '../../components/confirm-dialog';

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
      <FormActions submitLabel="Create user" pending={create.isPending} onCancel={onDone} />
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
      <FormActions submitLabel="Set password" pending={reset.isPending} onCancel={onDone} />
    </form>
  );
}

/** Blank means null: the user falls back to the template's limit, then the global default. */
const optionalMinutes = (text: string) => (text.trim() === '' ? null : Number(text));

/** The user's own idle timeout and maximum session duration, in minutes. */
export function LimitsForm({ user, onDone }: { user: User; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [idle, setIdle] = useState(user.idleTimeoutMinutes?.toString() ?? '');
  const [max, setMax] = useState(user.maxDurationMinutes?.toString() ?? '');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: UpdateUserRequest) => usersApi.update(user.id, body),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.users });
      onDone();
    },
  });
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = UpdateUserRequest.safeParse({
          idleTimeoutMinutes: optionalMinutes(idle),
          maxDurationMinutes: optionalMinutes(max),
        });
        if (!parsed.success) return setInvalid(issues(parsed.error));
        setInvalid(null);
        save.mutate(parsed.data);
      }}
    >
      <label htmlFor="limit-idle">Idle timeout (minutes, blank = default)</label>
      <input
        id="limit-idle"
        type="number"
        min={1}
        value={idle}
        onChange={(event) => setIdle(event.target.value)}
      />
      <label htmlFor="limit-max">Maximum session duration (minutes, blank = default)</label>
      <input
        id="limit-max"
        type="number"
        min={1}
        value={max}
        onChange={(event) => setMax(event.target.value)}
      />
      <InlineError message={invalid ?? (save.error ? errorMessage(save.error) : null)} />
      <FormActions submitLabel="Save limits" pending={save.isPending} onCancel={onDone} />
    </form>
  );
}
