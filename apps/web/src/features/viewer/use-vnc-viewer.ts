import type { SessionState } from '@streamspace/protocol';
import { useEffect, useRef, useState } from 'react';
import { sessionsApi } from '../../api/sessions-api';
import { createVncConnection, type VncConnection, type ViewerSettings } from './vnc-connection';
import type { ViewerStatus } from './viewer-status';

/** Mounts a VncConnection on `target` for the page's lifetime and mirrors its status. */
export function useVncViewer(
  sessionId: string,
  target: React.RefObject<HTMLDivElement | null>,
  settings: ViewerSettings,
  sessionState: SessionState | undefined,
) {
  const [status, setStatus] = useState<ViewerStatus>({ kind: 'connecting', attempt: 1 });
  const [remoteClipboard, setRemoteClipboard] = useState('');
  const connection = useRef<VncConnection | null>(null);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;

  useEffect(() => {
    if (!target.current) return;
    const created = createVncConnection({
      target: target.current,
      sessionId,
      connect: sessionsApi.connect,
      getSession: sessionsApi.get,
      settings: settingsRef.current,
      onStatus: setStatus,
      onClipboard: setRemoteClipboard,
    });
    connection.current = created;
    return () => {
      created.destroy();
      connection.current = null;
    };
  }, [sessionId, target]);

  useEffect(() => {
    connection.current?.applySettings(settings);
  }, [settings]);

  useEffect(() => {
    if (sessionState) connection.current?.sessionStateChanged(sessionState);
  }, [sessionState]);

  return { status, remoteClipboard, connection };
}
