import type { Session } from '@streamspace/protocol';
import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api/api-error';
import { Dialog } from '../../components/confirm-dialog';
import { InlineError } from '../../components/error-panel';
import { allowedActions } from './session-permissions';
import { useSessionMutation } from './use-sessions';

/** The row of buttons for one session, offering only what its state allows. */
export function SessionActions({
  session,
  showDetails = true,
}: {
  session: Session;
  showDetails?: boolean;
}) {
  const mutation = useSessionMutation();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteHome, setDeleteHome] = useState(false);
  const allowed = allowedActions(session.state);
  const busy = mutation.isPending;
  const label = `${session.templateName} session`;

  return (
    <div className="actions">
      {allowed.open ? (
        <Link className="btn btn-primary btn-small" to={`/sessions/${session.id}/view`}>
          Open
        </Link>
      ) : null}
      {allowed.wake ? (
        <button
          type="button"
          className="btn btn-primary btn-small"
          disabled={busy}
          onClick={() => mutation.mutate({ id: session.id, action: 'wake' })}
          aria-label={`Wake ${label}`}
        >
          Wake
        </button>
      ) : null}
      {allowed.hibernate ? (
        <button
          type="button"
          className="btn btn-small"
          disabled={busy}
          onClick={() => mutation.mutate({ id: session.id, action: 'hibernate' })}
          aria-label={`Hibernate ${label}`}
        >
          Hibernate
        </button>
      ) : null}
      {allowed.stop ? (
        <button
          type="button"
          className="btn btn-small"
          disabled={busy}
          onClick={() => mutation.mutate({ id: session.id, action: 'stop' })}
          aria-label={`Stop ${label}`}
        >
          Stop
        </button>
      ) : null}
      {allowed.remove ? (
        <button
          type="button"
          className="btn btn-danger btn-small"
          disabled={busy}
          onClick={() => setConfirmDelete(true)}
          aria-label={`Delete ${label}`}
        >
          Delete
        </button>
      ) : null}
      {showDetails ? (
        <Link className="btn btn-link btn-small" to={`/sessions/${session.id}`}>
          Details
        </Link>
      ) : null}
      <InlineError message={mutation.error ? errorMessage(mutation.error) : null} />

      <Dialog
        open={confirmDelete}
        title="Delete this session?"
        onClose={() => setConfirmDelete(false)}
      >
        <p>
          The {session.templateName} session stops and is removed. Your home directory is kept
          unless you choose otherwise.
        </p>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={deleteHome}
            onChange={(event) => setDeleteHome(event.target.checked)}
          />
          Also delete the home directory (every file in it is lost)
        </label>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-danger"
            onClick={() => {
              setConfirmDelete(false);
              mutation.mutate({ id: session.id, action: 'delete', deleteHome });
            }}
          >
            {deleteHome ? 'Delete session and home' : 'Delete session'}
          </button>
        </div>
      </Dialog>
    </div>
  );
}
