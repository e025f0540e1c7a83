import { errorMessage } from '../api/api-error';
import { ErrorPanel } from './error-panel';
import { Spinner } from './spinner';

/** The spinner while a page's query loads and the error panel when it fails. */
export function QueryStatus({
  query,
  loading,
  errorTitle,
}: {
  query: { isPending: boolean; error: unknown };
  /** What is loading, for the spinner's label: "Loading templates". */
  loading: string;
  errorTitle: string;
}) {
  return (
    <>
      {query.isPending ? <Spinner label={loading} /> : null}
      {query.error ? <ErrorPanel title={errorTitle} message={errorMessage(query.error)} /> : null}
    </>
  );
}
