import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';

/**
 * A modal built on <dialog>: the browser traps focus, Escape cancels, and focus returns to
 * the control that opened it.
 */
export function Dialog({
  open,
  title,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current =
        document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);
  // The browser returns focus on close(), but not when the dialog leaves the page with its
  // parent (most of ours are unmounted on close), so give it back to the opener here too.
  useEffect(() => {
    if (open) return;
    if (opener.current?.isConnected) opener.current.focus();
    opener.current = null;
  }, [open]);
  useEffect(
    () => () => {
      if (opener.current?.isConnected) opener.current.focus();
    },
    [],
  );
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="dialog-title"
      onClose={onClose}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open ? (
        <>
          <h2 id="dialog-title">{title}</h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

/** A dialog form's buttons: Cancel, and the submit button, disabled while its request runs. */
export function FormActions({
  submitLabel,
  pending,
  onCancel,
  className,
}: {
  submitLabel: string;
  pending: boolean;
  onCancel: () => void;
  className?: string;
}) {
  return (
    <div className={className ? `dialog-actions ${className}` : 'dialog-actions'}>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className="btn btn-primary" disabled={pending}>
        {submitLabel}
      </button>
    </div>
  );
}
