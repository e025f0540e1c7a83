import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { errorMessage } from '../../api/api-error';
import { ErrorPanel } from '../../components/error-panel';
import { Spinner } from '../../components/spinner';
import { SIGNED_OUT_MESSAGE, useAuth } from './auth-provider';

/** Renders its children only for a signed-in user (and only for admins when asked). */
export function RequireAuth({ admin = false, children }: { admin?: boolean; children: ReactNode }) {
  const { user, loadError, notice } = useAuth();
  const location = useLocation();
  if (user === undefined) {
    if (loadError)
      return <ErrorPanel title="Cannot load StreamSpace" message={errorMessage(loadError)} />;
    return <Spinner label="Loading" />;
  }
  if (user === null) {
    // After an expiry, sign-in returns to this page; after signing out it starts afresh
    // (the next person may be someone else).
    const from = notice === SIGNED_OUT_MESSAGE ? undefined : location.pathname + location.search;
    return <Navigate to="/sign-in" replace state={{ from }} />;
  }
  if (admin && user.role !== 'admin') {
    return <ErrorPanel title="Not available" message="This page is for administrators." />;
  }
  return <>{children}</>;
}
