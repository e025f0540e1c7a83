import { useEffect, useState } from 'react';

/**
 * Clipboard text both ways. Browsers only let a page read the local clipboard on a user
 * gesture, so sending is explicit; text copied in the desktop appears here to copy out.
 */
export function ClipboardPanel({
  remoteText,
  onSend,
  onClose,
}: {
  remoteText: string;
  onSend: (text: string) => void;
  onClose: () => void;
}) {
  const [text, setText] = useState(remoteText);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    if (remoteText === '') return;
    setText(remoteText);
    setNote('Copied in the desktop.');
  }, [remoteText]);

  return (
    <aside className="clipboard-panel" aria-labelledby="clipboard-title">
      <div className="clipboard-head">
        <h2 id="clipboard-title">Clipboard</h2>
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      <label htmlFor="clipboard-text">Text shared with the desktop</label>
      <textarea
        id="clipboard-text"
        rows={6}
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      <div className="actions">
        <button
          type="button"
          className="btn btn-primary btn-small"
          onClick={() => {
            onSend(text);
            setNote('Sent to the desktop clipboard.');
          }}
        >
          Send to desktop
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={async () => {
            try {
              setText(await navigator.clipboard.readText());
              setNote(null);
            } catch {
              setNote('The browser did not allow reading your clipboard; paste with Ctrl+V.');
            }
          }}
        >
          Paste from my clipboard
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(text);
              setNote('Copied to your clipboard.');
            } catch {
              setNote('The browser did not allow copying; select the text and press Ctrl+C.');
            }
          }}
        >
          Copy to my clipboard
        </button>
      </div>
      {note ? (
        <p className="muted" role="status">
          {note}
        </p>
      ) : null}
    </aside>
  );
}
