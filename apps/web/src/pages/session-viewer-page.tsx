import type { Session } from '@streamspace/protocol';
import { useEffect, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { errorMessage, isApiError } from '../api/api-error';
import { ErrorPanel } from '../components/error-panel';
import { IdleBanner } from '../features/sessions/idle-countdown';
import { useSession, useSessionMutation } from '../features/sessions/use-sessions';
import { ClipboardPanel } from '../features/viewer/clipboard-panel';
import { StatusOverlay } from '../features/viewer/status-overlay';
import { useVncViewer } from '../features/viewer/use-vnc-viewer';
import { NOT_FOUND_MESSAGE } from '../features/viewer/viewer-status';
import { ViewerToolbar } from '../features/viewer/viewer-toolbar';
import type { ViewerSettings } from '../features/viewer/vnc-connection';

const SETTINGS_KEY = 'streamspace.viewer.settings';
const DEFAULT_SETTINGS: ViewerSettings = { scale: true, remoteResize: false, viewOnly: false };

function loadSettings(): ViewerSettings {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null');
    return typeof stored === 'object' && stored !== null
      ? { ...DEFAULT_SETTINGS, ...(stored as Partial<ViewerSettings>), viewOnly: false }
      : DEFAULT_SETTINGS;
  } catch {
    return DEFAULT_SETTINGS;
  }
}

export function SessionViewerPage() {
  const { id = '' } = useParams();
  const session = useSession(id);
  if (isApiError(session.error) && session.error.status === 404) {
    return (
      <ErrorPanel
        title={NOT_FOUND_MESSAGE}
        message="Check the link, or open one of your own sessions."
      />
    );
  }
  return <Viewer sessionId={id} session={session.data} />;
}

function Viewer({ sessionId, session }: { sessionId: string; session: Session | undefined }) {
  const title = session?.templateName ?? 'Session';
  const state = session?.state;
  const frame = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const toolbarFocus = useRef<HTMLDivElement>(null);
  const [settings, setSettings] = useState(loadSettings);
  const [clipboardOpen, setClipboardOpen] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const wake = useSessionMutation();
  const keepAlive = useSessionMutation();
  const { status, remoteClipboard, connection } = useVncViewer(sessionId, screen, settings, state);

  useEffect(() => {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  }, [settings]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === frame.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  // Ctrl+Alt+Shift hands the keyboard back to the page (the desktop otherwise takes every
  // key, Tab included); capture phase so it wins over noVNC's handler on the canvas.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey && event.altKey && event.shiftKey) {
        connection.current?.blur();
        toolbarFocus.current?.querySelector<HTMLElement>('a, button')?.focus();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [connection]);

  return (
    <div className="viewer" ref={frame}>
      <div ref={toolbarFocus}>
        <ViewerToolbar
          sessionId={sessionId}
          title={title}
          status={status}
          settings={settings}
          onSettings={setSettings}
          clipboardOpen={clipboardOpen}
          onToggleClipboard={() => setClipboardOpen((open) => !open)}
          onCtrlAltDel={() => {
            connection.current?.sendCtrlAltDel();
            connection.current?.focus();
          }}
          fullscreen={fullscreen}
          onToggleFullscreen={() => {
            if (document.fullscreenElement) void document.exitFullscreen();
            else void frame.current?.requestFullscreen();
          }}
          onDisconnect={() => connection.current?.disconnect()}
        />
      </div>
      <div className="viewer-body">
        <div className="viewer-screen" ref={screen} data-testid="viewer-screen" />
        {session ? (
          <IdleBanner
            session={session}
            onKeepAlive={() => keepAlive.mutate({ id: sessionId, action: 'keepalive' })}
          />
        ) : null}
        <StatusOverlay
          status={status}
          actions={{
            onReconnect: () => connection.current?.reconnectNow(),
            onWake: () => wake.mutate({ id: sessionId, action: 'wake' }),
            wakePending: wake.isPending,
            wakeError: wake.error ? errorMessage(wake.error) : null,
          }}
        />
        {clipboardOpen ? (
          <ClipboardPanel
            remoteText={remoteClipboard}
            onSend={(text) => connection.current?.pasteToRemote(text)}
            onClose={() => {
              setClipboardOpen(false);
              connection.current?.focus();
            }}
          />
        ) : null}
      </div>
      <p className="viewer-hint">
        Click the desktop to type. Ctrl+Alt+Shift gives the keyboard back to the page.
      </p>
    </div>
  );
}
