import { Outlet, createBrowserRouter } from 'react-router';
import { AppShell } from './components/app-shell';
import { AuthProvider } from './features/auth/auth-provider';
import { RequireAuth } from './features/auth/require-auth';
import { LiveEventsProvider } from './features/live/live-events';
import { AdminAgentsPage } from './pages/admin-agents-page';
import { AdminSessionsPage } from './pages/admin-sessions-page';
import { AdminTemplatesPage } from './pages/admin-templates-page';
import { AdminUsersPage } from './pages/admin-users-page';
import { CatalogPage } from './pages/catalog-page';
import { MySessionsPage } from './pages/my-sessions-page';
import { NotFoundPage, RouteErrorPage } from './pages/not-found-page';
import { SessionDetailPage } from './pages/session-detail-page';
import { SignInPage } from './pages/sign-in-page';

function Root() {
  return (
    <AuthProvider>
      <Outlet />
    </AuthProvider>
  );
}

function SignedIn() {
  return (
    <RequireAuth>
      <LiveEventsProvider>
        <Outlet />
      </LiveEventsProvider>
    </RequireAuth>
  );
}

function AdminOnly() {
  return (
    <RequireAuth admin>
      <Outlet />
    </RequireAuth>
  );
}

export function createAppRouter() {
  return createBrowserRouter([
    {
      element: <Root />,
      errorElement: <RouteErrorPage />,
      children: [
        { path: '/sign-in', element: <SignInPage /> },
        {
          element: <SignedIn />,
          children: [
            {
              path: '/sessions/:id/view',
              // noVNC is large; load it only when a desktop is opened.
              lazy: async () => ({
                Component: (await import('./pages/session-viewer-page')).SessionViewerPage,
              }),
            },
            {
              element: <AppShell />,
              errorElement: <RouteErrorPage />,
              children: [
                { index: true, element: <CatalogPage /> },
                { path: '/sessions', element: <MySessionsPage /> },
                { path: '/sessions/:id', element: <SessionDetailPage /> },
                {
                  path: '/admin',
                  element: <AdminOnly />,
                  children: [
                    { path: 'agents', element: <AdminAgentsPage /> },
                    { path: 'sessions', element: <AdminSessionsPage /> },
                    { path: 'templates', element: <AdminTemplatesPage /> },
                    { path: 'users', element: <AdminUsersPage /> },
                  ],
                },
              ],
            },
          ],
        },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ]);
}
