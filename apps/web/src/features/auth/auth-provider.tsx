import type { LoginRequest, User } from '@streamspace/protocol';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { onUnauthenticated } from '../../api/api-client';
import { isApiError } from '../../api/api-error';
import { authApi } from '../../api/auth-api';
import { queryKeys } from '../../api/query-keys';

export const SESSION_EXPIRED_MESSAGE = 'Your session expired, sign in again';
export const SIGNED_OUT_MESSAGE = 'You signed out.';

interface AuthContextValue {
  /** undefined while loading; null when nobody is signed in. */
  user: User | null | undefined;
  loadError: unknown;
  /** Why the user is on the sign-in page (expired session, signed out), if we know. */
  notice: string | null;
  signIn(request: LoginRequest): Promise<User>;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [expiredFrom, setExpiredFrom] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const me = useQuery({
    queryKey: queryKeys.me,
    queryFn: async () => {
      try {
        return await authApi.me();
      } catch (error) {
        if (isApiError(error, 'unauthenticated')) return null;
        throw error;
      }
    },
    staleTime: Infinity,
    retry: 1,
  });

  // A 401 from any signed-in call means the cookie expired or was revoked.
  useEffect(
    () =>
      onUnauthenticated(() => {
        setExpiredFrom(window.location.pathname + window.location.search);
      }),
    [],
  );
  useEffect(() => {
    if (expiredFrom === null) return;
    setExpiredFrom(null);
    // Kept here rather than in the location state: the route guard may redirect first.
    setNotice(SESSION_EXPIRED_MESSAGE);
    queryClient.clear();
    queryClient.setQueryData(queryKeys.me, null);
    if (location.pathname !== '/sign-in') {
      void navigate('/sign-in', { replace: true, state: { from: expiredFrom } });
    }
  }, [expiredFrom, location.pathname, navigate, queryClient]);

  const signIn = useCallback(
    async (request: LoginRequest) => {
      const { user } = await authApi.login(request);
      setNotice(null);
      queryClient.clear();
      queryClient.setQueryData(queryKeys.me, user);
      return user;
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    try {
      await authApi.logout();
    } finally {
      setNotice(SIGNED_OUT_MESSAGE);
      queryClient.clear();
      queryClient.setQueryData(queryKeys.me, null);
      void navigate('/sign-in', { replace: true });
    }
  }, [navigate, queryClient]);

  const value = useMemo<AuthContextValue>(
    () => ({ user: me.data, loadError: me.error, notice, signIn, signOut }),
    [me.data, me.error, notice, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** The signed-in user; only for components rendered under RequireAuth. */
export function useCurrentUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error('useCurrentUser without a signed-in user');
  return user;
}
