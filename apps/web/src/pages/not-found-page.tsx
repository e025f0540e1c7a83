import { Link, isRouteErrorResponse, useRouteError } from 'react-router';
import { ErrorPanel } from '../components/error-panel';

export function NotFoundPage() {
  return (
    <main className="content">
      <ErrorPanel title="Page not found" message="There is nothing at this address.">
        <Link to="/">Go to the apps</Link>
      </ErrorPanel>
    </main>
  );
}

/** Shown instead of a blank page or a stack trace when a page throws. */
export function RouteErrorPage() {
  const error = useRouteError();
  console.error('page failed', error);
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : 'This page hit an unexpected problem. Reloading usually helps.';
  return (
    <main className="content">
      <ErrorPanel title="Something went wrong" message={message}>
        <p>
          <a href="/">Back to StreamSpace</a>
        </p>
      </ErrorPanel>
    </main>
  );
}
