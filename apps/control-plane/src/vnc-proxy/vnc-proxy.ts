import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CloseCode,
  DEFAULT_VNC_PORT,
  Uuid,
  type Clock,
  type StreamEndpoint,
} from '@streamspace/protocol';
import { StreamOpenError } from '@streamspace/stream-mux';
import type { Db } from '../db/database';
import type { ControlPlaneStreamMux } from './control-plane-stream-mux';
import { isOriginAllowed } from './origin-check';
import { viewerPort, ViewerCloseError } from './viewer-port';
import type { VncMetrics } from './vnc-metrics';
import type { VncTickets } from './vnc-tickets';

/** Viewer input stamps the session's activity at most this often per viewer, in ms. */
export const INPUT_STAMP_INTERVAL_MS = 5_000;
/**
 * Largest viewer→session WebSocket message, in bytes. RFB client messages are small; the
 * largest is a clipboard paste (ClientCutText), so this is generous and still bounded.
 */
export const MAX_VIEWER_MESSAGE_BYTES = 1024 * 1024;

/**
 * Where a viewer's stream is opened: the agent link's own mux on this process, or a route
 * through the replica that holds the link (replicas/stream-router.ts).
 */
export type ViewerStreamOpener = Pick<ControlPlaneStreamMux, 'openStream'>;

export interface VncProxyDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  tickets: VncTickets;
  /** Origins besides the request's own host allowed to open viewers (config.allowedOrigins). */
  allowedOrigins: readonly string[];
  /**
   * The stream side of the agent's link when this process holds it (hub.streamEndpoint), or
   * a route to the replica that does; undefined when the agent is offline.
   */
  streamEndpointFor: (
    agentId: string,
  ) => StreamEndpoint | ViewerStreamOpener | undefined | Promise<ViewerStreamOpener | undefined>;
  metrics?: VncMetrics;
  onViewerConnected?: (sessionId: string, userId: string) => unknown;
  onViewerDisconnected?: (sessionId: string, userId: string, reason: string) => unknown;
  /** Viewer input reached the session (throttled to INPUT_STAMP_INTERVAL_MS per viewer). */
  onViewerInput?: (sessionId: string) => unknown;
  /** The session's TCP port the stream goes to; the session's VNC port by convention. */
  vncPortOf?: (details: Record<string, string>) => number;
}

export type VncProxy = ReturnType<typeof createVncProxy>;

interface Viewer {
  ws: WebSocket;
  sessionId: string;
  userId: string;
}

/**
 * `GET /vnc/:sessionId?ticket=…`: a viewer WebSocket carrying raw RFB in binary frames,
 * tunnelled over one stream on the session's agent link. Every refusal is a WebSocket close
 * with a code from close-codes.ts and a reason, because browsers hide a refused handshake's
 * HTTP status from pages.
 */
export function createVncProxy(deps: VncProxyDeps) {
  const { db, clock, tickets, metrics } = deps;
  const logger = deps.logger.child({ module: 'vnc-proxy' });
  const vncPortOf = deps.vncPortOf ?? (() => DEFAULT_VNC_PORT);
  const wss = new WebSocketServer({
    noServer: true,
    // RFB is already compressed; deflate cost 19× on the stream path (TARGETS.md).
    perMessageDeflate: false,
    maxPayload: MAX_VIEWER_MESSAGE_BYTES,
    // noVNC and websockify clients offer 'binary'; raw binary frames are what we speak.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });
  const viewers = new Map<string, Set<Viewer>>();
  const pendingSockets = new Set<WebSocket>();
  let stopped = false;

  function refuse(ws: WebSocket, code: number, reason: string, fields: object): void {
    metrics?.viewerRefusals.inc({ code: String(code) });
    logger.info({ ...fields, code, reason }, 'viewer refused');
    closeViewer(ws, code, reason);
  }

  async function serve(ws: WebSocket, request: IncomingMessage): Promise<void> {
    // Hold the viewer's input until the stream is up; RFB clients wait for the server anyway.
    ws.pause();
    const early: Buffer[] = [];
    const collectEarly = (data: Buffer) => {
      if (early.length < 16) early.push(data);
    };
    ws.on('message', collectEarly);
    ws.on('error', () => {});
    pendingSockets.add(ws);
    ws.once('close', () => pendingSockets.delete(ws));

    const url = new URL(request.url ?? '/', 'http://localhost');
    const sessionId = decodeURIComponent(url.pathname.slice('/vnc/'.length));
    const ticket = url.searchParams.get('ticket');
    const fields = { sessionId };
    if (!isOriginAllowed(request.headers.origin, request.headers.host, deps.allowedOrigins)) {
      return refuse(ws, CloseCode.originForbidden, 'origin not allowed', fields);
    }
    if (!Uuid.safeParse(sessionId).success || ticket === null || ticket === '') {
      return refuse(ws, CloseCode.ticketInvalid, 'missing or invalid ticket', fields);
    }
    const consumed = await tickets.consume(ticket, sessionId);
    if (consumed === null) {
      return refuse(ws, CloseCode.ticketInvalid, 'ticket is invalid, used or expired', fields);
    }
    const session = await db
      .selectFrom('sessions')
      .select(['state', 'agentId', 'details'])
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (session === undefined || session.state !== 'running') {
      const state = session?.state ?? 'gone';
      return refuse(ws, CloseCode.sessionNotRunning, `session is ${state}, not running`, fields);
    }
    const endpoint =
      session.agentId === null ? undefined : await deps.streamEndpointFor(session.agentId);
    if (!isStreamOpener(endpoint)) {
      return refuse(ws, CloseCode.agentOffline, "the session's agent is offline", fields);
    }
    if (ws.readyState !== ws.OPEN) return;

    const viewer: Viewer = { ws, sessionId, userId: consumed.userId };
    let lastStampAt = Number.NEGATIVE_INFINITY;
    const port = viewerPort(ws, {
      early,
      onInput: (bytes) => {
        metrics?.fromViewer.inc(bytes);
        const now = clock.now();
        if (now - lastStampAt >= INPUT_STAMP_INTERVAL_MS) {
          lastStampAt = now;
          callQuietly(() => deps.onViewerInput?.(sessionId));
        }
      },
      onOutput: (bytes) => metrics?.toViewer.inc(bytes),
      sessionState: async () =>
        (
          await db
            .selectFrom('sessions')
            .select('state')
            .where('id', '=', sessionId)
            .executeTakeFirst()
        )?.state,
    });
    try {
      await endpoint.openStream({ sessionId, port: vncPortOf(session.details) }, (stream) => {
        ws.off('message', collectEarly);
        if (ws.readyState === ws.OPEN) track(viewer);
        return port(stream);
      });
    } catch (error) {
      if (error instanceof ViewerCloseError)
        return refuse(ws, error.closeCode, error.reason, fields);
      const code = error instanceof StreamOpenError ? error.code : 'connect_failed';
      if (code === 'link_closed' || code === 'agent_shutting_down') {
        return refuse(ws, CloseCode.agentOffline, 'the agent went offline', fields);
      }
      return refuse(ws, CloseCode.streamFailed, `stream failed: ${code}`, fields);
    }
  }

  function track(viewer: Viewer): void {
    pendingSockets.delete(viewer.ws);
    let set = viewers.get(viewer.sessionId);
    if (set === undefined) viewers.set(viewer.sessionId, (set = new Set()));
    set.add(viewer);
    metrics?.viewers.inc();
    logger.info({ sessionId: viewer.sessionId, userId: viewer.userId }, 'viewer connected');
    callQuietly(() => deps.onViewerConnected?.(viewer.sessionId, viewer.userId));
    viewer.ws.once('close', (code: number, reasonBuffer: Buffer) => {
      set.delete(viewer);
      if (set.size === 0 && viewers.get(viewer.sessionId) === set) viewers.delete(viewer.sessionId);
      metrics?.viewers.dec();
      const reason = reasonBuffer.toString('utf8') || `closed with code ${code}`;
      logger.info({ sessionId: viewer.sessionId, code, reason }, 'viewer disconnected');
      callQuietly(() => deps.onViewerDisconnected?.(viewer.sessionId, viewer.userId, reason));
    });
  }

  function callQuietly(call: () => unknown): void {
    try {
      const result = call();
      if (result instanceof Promise) {
        result.catch((error: unknown) => logger.error({ err: error }, 'viewer hook failed'));
      }
    } catch (error) {
      logger.error({ err: error }, 'viewer hook failed');
    }
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (stopped) {
        ws.close(CloseCode.serverShutdown, 'the control plane is shutting down');
        return;
      }
      serve(ws, request).catch((error: unknown) => {
        logger.error({ err: error }, 'viewer setup failed');
        if (ws.readyState === ws.OPEN) closeViewer(ws, CloseCode.internalError, 'internal error');
      });
    });
  }

  return {
    /** Serve /vnc/ upgrades on this HTTP server; other paths are left to other handlers. */
    attach(server: Server): void {
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!isVncPath(request.url)) return;
        handleUpgrade(request, socket, head);
      });
    },
    handleUpgrade,
    /** Viewers streaming this session right now (on this process). */
    viewerCount: (sessionId: string): number => viewers.get(sessionId)?.size ?? 0,
    /** Close every viewer of a session, e.g. when it stops or hibernates. */
    closeViewers(
      sessionId: string,
      code: number = CloseCode.sessionNotRunning,
      reason = 'the session stopped',
    ): void {
      for (const viewer of [...(viewers.get(sessionId) ?? [])])
        closeViewer(viewer.ws, code, reason);
    },
    async close(): Promise<void> {
      stopped = true;
      const sockets = [
        ...pendingSockets,
        ...[...viewers.values()].flatMap((set) => [...set].map((v) => v.ws)),
      ];
      for (const ws of sockets)
        closeViewer(ws, CloseCode.serverShutdown, 'the control plane is shutting down');
      wss.close();
    },
  };
}

/** The hub's own mux and a replica route both open streams; a bare StreamEndpoint cannot. */
function isStreamOpener(
  endpoint: StreamEndpoint | ViewerStreamOpener | undefined,
): endpoint is ViewerStreamOpener {
  return typeof (endpoint as Partial<ViewerStreamOpener> | undefined)?.openStream === 'function';
}

/** Close a viewer; resumed first so the closing handshake is read (a paused ws hangs 30 s). */
function closeViewer(ws: WebSocket, code: number, reason: string): void {
  ws.resume();
  ws.close(code, reason);
}

export function isVncPath(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('/vnc/');
}
