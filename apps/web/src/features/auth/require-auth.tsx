import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { errorMessage } from '../../api/api-error';
import { ErrorPanel } from '../../components/error-panel';
import { Spinner } from '../../components/spinner';
import { useAuth } from './auth-provider';

/** Renders its children only for a signed-in user (and only for admins when asked). */
export function RequireAuth({ admin = false, children }: { admin?: boolean; children: ReactNode }) {
  const { user, loadError } = useAuth();
  const location = useLocation();
  if (user === undefined) {
    if (loadError)
      return <ErrorPanel title="Cannot load StreamSpace" message={errorMessage(loadError)} />;
    return <Spinner label="Loading" />;
  }
  if (user === null) {
    return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  }
  if (admin && user.role !== 'admin') {
    return <ErrorPanel title="Not available" message="This page is for administrators." />;
  }
  return <>{children}</>;
}
