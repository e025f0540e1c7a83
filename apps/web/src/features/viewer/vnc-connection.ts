import RFB from '@novnc/novnc';
import {
  CloseCode,
  type ConnectResponse,
  type Session,
  type SessionState,
} from '@streamspace/protocol';
import { ApiError } from '../../api/api-error';
import { backoffMs, type ViewerStatus } from './viewer-status';
import { webSocketUrl } from './web-socket-url';

/** A connection that lasted this long (ms) resets the backoff; a flapping one does not. */
const STABLE_CONNECTION_MS = 10_000;

export interface ViewerSettings {
  scale: boolean;
  remoteResize: boolean;
  viewOnly: boolean;
}

export interface VncConnectionDeps {
  target: HTMLElement;
  sessionId: string;
  connect(sessionId: string): Promise<ConnectResponse>;
  getSession(sessionId: string): Promise<Session>;
  settings: ViewerSettings;
  onStatus(status: ViewerStatus): void;
  onClipboard(text: string): void;
}

export interface VncConnection {
  applySettings(settings: ViewerSettings): void;
  /** The page learned the session's state (live events): resume when it runs again. */
  sessionStateChanged(state: SessionState): void;
  reconnectNow(): void;
  disconnect(): void;
  sendCtrlAltDel(): void;
  pasteToRemote(text: string): void;
  focus(): void;
  blur(): void;
  destroy(): void;
}

/**
 * One viewer's connection to a session: a fresh single-use ticket per attempt, noVNC over
 * the /vnc WebSocket, and a reconnect policy driven by the proxy's close codes
 * (packages/protocol close-codes.ts).
 */
export function createVncConnection(deps: VncConnectionDeps): VncConnection {
  let rfb: RFB | null = null;
  let settings = deps.settings;
  let status: ViewerStatus = { kind: 'connecting', attempt: 1 };
  let failures = 0;
  let connectedAt = 0;
  let retryTimer: number | undefined;
  let stopped = false; // destroyed, or the user pressed Disconnect
  let destroyed = false;
  let generation = 0; // ignores events from superseded attempts

  const setStatus = (next: ViewerStatus) => {
    status = next;
    if (!destroyed) deps.onStatus(next);
  };

  const clearRetry = () => {
    window.clearTimeout(retryTimer);
    retryTimer = undefined;
  };

  const scheduleRetry = (kind: 'reconnecting' | 'agent_offline', reason: string) => {
    clearRetry();
    failures += 1;
    const delay = backoffMs(failures);
    setStatus({ kind, reason, retryAt: Date.now() + delay });
    retryTimer = window.setTimeout(() => void attempt(), delay);
  };

  const teardownRfb = () => {
    const current = rfb;
    rfb = null;
    generation += 1;
    if (current) {
      try {
        current.disconnect();
      } catch {
        // Already disconnected.
      }
    }
  };

  /** Decide what a drop or a refused connect means from the session's real state. */
  const followSessionState = async (reason: string, kind: 'reconnecting' | 'agent_offline') => {
    let session: Session;
    try {
      session = await deps.getSession(deps.sessionId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404)
        return setStatus({ kind: 'not_found' });
      if (error instanceof ApiError && error.status === 401)
        return setStatus({ kind: 'disconnected' });
      return scheduleRetry('reconnecting', reason);
    }
    if (stopped) return;
    applySessionState(session.state, session.stateReason, reason, kind);
  };

  const applySessionState = (
    state: SessionState,
    stateReason: string,
    dropReason: string,
    kind: 'reconnecting' | 'agent_offline',
  ) => {
    if (state === 'hibernated' || state === 'hibernating') {
      clearRetry();
      failures = 0;
      return setStatus({ kind: 'hibernated', settled: state === 'hibernated' });
    }
    if (state === 'stopped' || state === 'failed' || state === 'stopping') {
      clearRetry();
      return setStatus({ kind: 'ended', state, reason: stateReason });
    }
    if (state === 'running') return scheduleRetry(kind, dropReason);
    clearRetry();
    const since = status.kind === 'waiting' && status.state === state ? status.since : Date.now();
    setStatus({ kind: 'waiting', state, since });
  };

  const attempt = async () => {
    clearRetry();
    teardownRfb();
    if (stopped) return;
    const myGeneration = generation;
    setStatus({ kind: 'connecting', attempt: failures + 1 });

    let ticket: ConnectResponse;
    try {
      ticket = await deps.connect(deps.sessionId);
    } catch (error) {
      if (stopped || myGeneration !== generation) return;
      if (error instanceof ApiError) {
        if (error.status === 404) return setStatus({ kind: 'not_found' });
        if (error.status === 401) return setStatus({ kind: 'disconnected' });
        if (error.code === 'agent_offline') return scheduleRetry('agent_offline', error.message);
        if (error.code === 'session_not_running' || error.status === 409) {
          return followSessionState(error.message, 'reconnecting');
        }
      }
      return scheduleRetry('reconnecting', error instanceof Error ? error.message : 'error');
    }
    if (stopped || myGeneration !== generation) return;
    open(ticket, myGeneration);
  };

  const open = (ticket: ConnectResponse, myGeneration: number) => {
    let closeEvent: CloseEvent | null = null;
    let securityFailure: string | null = null;
    const socket = new WebSocket(webSocketUrl(ticket.url));
    // Registered before noVNC attaches its own handler, so the code and reason are known by
    // the time noVNC reports the disconnect.
    socket.addEventListener('close', (event) => {
      closeEvent = event;
    });
    const credentials = ticket.vncPassword === null ? undefined : { password: ticket.vncPassword };
    const connection = new RFB(deps.target, socket, { shared: true, credentials });
    rfb = connection;
    applyRfbSettings(connection, settings);
    connection.background = 'transparent';

    connection.addEventListener('connect', () => {
      if (myGeneration !== generation) return;
      connectedAt = Date.now();
      setStatus({ kind: 'connected' });
      connection.focus({ preventScroll: true });
    });
    connection.addEventListener('credentialsrequired', () => {
      if (credentials) connection.sendCredentials(credentials);
      else securityFailure = 'the desktop asked for a password the server did not provide';
    });
    connection.addEventListener('securityfailure', (event) => {
      securityFailure = event.detail.reason ?? `VNC authentication failed (${event.detail.status})`;
    });
    connection.addEventListener('clipboard', (event) => deps.onClipboard(event.detail.text));
    connection.addEventListener('disconnect', () => {
      if (myGeneration !== generation) return;
      rfb = null;
      if (stopped) return setStatus({ kind: 'disconnected' });
      if (connectedAt > 0 && Date.now() - connectedAt >= STABLE_CONNECTION_MS) failures = 0;
      connectedAt = 0;
      handleDrop(closeEvent, securityFailure);
    });
  };

  const handleDrop = (close: CloseEvent | null, securityFailure: string | null) => {
    const code = close?.code ?? 1006;
    const reason = close?.reason || describeCode(code);
    switch (code) {
      case CloseCode.notFound:
      case CloseCode.forbidden:
        return setStatus({ kind: 'not_found' });
      case CloseCode.originForbidden:
        return setStatus({ kind: 'error', message: `The server refused this page: ${reason}` });
      case CloseCode.agentDeleted:
        return setStatus({ kind: 'ended', state: 'failed', reason });
      case CloseCode.agentOffline:
        return scheduleRetry('agent_offline', reason);
      case CloseCode.unauthorized:
        // The sign-in may have expired: asking for the session lets the app's 401 handler act.
        return void followSessionState(reason, 'reconnecting');
      default:
        if (securityFailure) return setStatus({ kind: 'error', message: securityFailure });
        return void followSessionState(reason, 'reconnecting');
    }
  };

  void attempt();

  return {
    applySettings(next) {
      settings = next;
      if (rfb) applyRfbSettings(rfb, next);
    },
    sessionStateChanged(state) {
      if (stopped) return;
      const waitingForRun =
        status.kind === 'hibernated' || status.kind === 'waiting' || status.kind === 'ended';
      if (state === 'running' && waitingForRun) return void attempt();
      if ((state === 'hibernating' || state === 'hibernated') && status.kind !== 'connected') {
        applySessionState(state, '', '', 'reconnecting');
      } else if (state === 'waking' && status.kind === 'hibernated') {
        setStatus({ kind: 'waiting', state, since: Date.now() });
      }
    },
    reconnectNow() {
      stopped = false;
      failures = 0;
      void attempt();
    },
    disconnect() {
      stopped = true;
      clearRetry();
      teardownRfb();
      setStatus({ kind: 'disconnected' });
    },
    sendCtrlAltDel() {
      rfb?.sendCtrlAltDel();
    },
    pasteToRemote(text) {
      rfb?.clipboardPasteFrom(text);
    },
    focus() {
      rfb?.focus({ preventScroll: true });
    },
    blur() {
      rfb?.blur();
    },
    destroy() {
      stopped = true;
      destroyed = true;
      clearRetry();
      teardownRfb();
    },
  };
}

function applyRfbSettings(rfb: RFB, settings: ViewerSettings): void {
  rfb.scaleViewport = settings.scale;
  rfb.resizeSession = settings.remoteResize;
  rfb.viewOnly = settings.viewOnly;
}

function describeCode(code: number): string {
  if (code === 1006) return 'the connection dropped';
  if (code === CloseCode.serverShutdown) return 'the server is restarting';
  if (code === CloseCode.sessionNotRunning) return 'the session is not running';
  return `closed (${code})`;
}
