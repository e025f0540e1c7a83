import { NavLink, Outlet } from 'react-router';
import { useAuth, useCurrentUser } from '../features/auth/auth-provider';

const navClass = ({ isActive }: { isActive: boolean }) =>
  isActive ? 'nav-link active' : 'nav-link';

/** Header, navigation and the page; the viewer renders without it to use the whole window. */
export function AppShell() {
  const user = useCurrentUser();
  const { signOut } = useAuth();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="StreamSpace home">
          <span className="brand-mark" aria-hidden="true" />
          StreamSpace
        </NavLink>
        <nav className="nav" aria-label="Main">
          <NavLink to="/" end className={navClass}>
            Apps
          </NavLink>
          <NavLink to="/sessions" end className={navClass}>
            My sessions
          </NavLink>
          {user.role === 'admin' ? (
            <>
              <span className="nav-divider" aria-hidden="true" />
              <NavLink to="/admin/agents" className={navClass}>
                Agents
              </NavLink>
              <NavLink to="/admin/sessions" className={navClass}>
                All sessions
              </NavLink>
              <NavLink to="/admin/templates" className={navClass}>
                Templates
              </NavLink>
              <NavLink to="/admin/users" className={navClass}>
                Users
              </NavLink>
            </>
          ) : null}
        </nav>
        <div className="user-menu">
          <span className="user-name" title={`Signed in as ${user.username} (${user.role})`}>
            {user.username}
          </span>
          <button type="button" className="btn btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
