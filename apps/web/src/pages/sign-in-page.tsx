import { useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { errorMessage, isApiError } from '../api/api-error';
import { InlineError } from '../components/error-panel';
import { useAuth } from '../features/auth/auth-provider';

interface SignInState {
  from?: string;
}

export function SignInPage() {
  const { user, notice, signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as SignInState;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const target = state.from && state.from !== '/sign-in' ? state.from : '/';

  if (user && !pending) return <Navigate to={target} replace />;

  return (
    <main className="sign-in">
      <form
        className="card sign-in-card"
        aria-labelledby="sign-in-title"
        onSubmit={async (event) => {
          event.preventDefault();
          setPending(true);
          setError(null);
          try {
            await signIn({ username: username.trim(), password });
            void navigate(target, { replace: true });
          } catch (caught) {
            setError(
              isApiError(caught, 'unauthenticated')
                ? 'Wrong username or password.'
                : isApiError(caught, 'rate_limited')
                  ? 'Too many attempts. Wait a minute and try again.'
                  : errorMessage(caught),
            );
          } finally {
            setPending(false);
          }
        }}
      >
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          StreamSpace
        </div>
        <h1 id="sign-in-title">Sign in</h1>
        {notice && !error ? (
          <p className="notice notice-info" role="status">
            {notice}
          </p>
        ) : null}
        <label htmlFor="username">Username</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          required
          autoFocus
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <InlineError message={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
