import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode, type ErrorCode } from '@streamspace/protocol';
import { type AttachPort, StreamOpenError, type StreamEnd } from '@streamspace/stream-mux';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import {
  MAX_REPLICA_STREAM_MESSAGE_BYTES,
  REPLICA_ID_HEADER,
  REPLICA_TARGET_HEADER,
  ReplicaStreamQuery,
  replicaSecretMatches,
  type ReplicaStreamOpened,
} from './replica-stream-protocol';

/** The owner's refusal when the agent's link is not (or no longer) on it: it moved. */
export const LINK_NOT_HERE = "the agent's link is not on this replica";

export interface ReplicaStreamServerDeps {
  replicaId: string;
  /** STREAMSPACE_REPLICA_SECRET; undefined: every route is refused (routing is off). */
  secret: string | undefined;
  logger: Logger;
  /** The stream side of an agent link this process holds (hub.streamEndpoint). */
  localEndpoint(agentId: string): ViewerStreamOpener | undefined;
  /** Where streamspace_replica_routes_served is registered. */
  registry?: Registry;
}

export type ReplicaStreamServer = ReturnType<typeof createReplicaStreamServer>;

/**
 * The owner's end of routed viewer streams (replica-stream-protocol.ts): another replica,
 * authenticated by the shared replica secret, asks for a stream to a session on an agent
 * link this process holds; the routed WebSocket then stands where a viewer's would.
 */
export function createReplicaStreamServer(deps: ReplicaStreamServerDeps) {
  const logger = deps.logger.child({ module: 'replica-streams' });
  const wss = new WebSocketServer({
    noServer: true,
    // RFB is already compressed; deflate cost 19× on the stream path (TARGETS.md).
    perMessageDeflate: false,
    maxPayload: MAX_REPLICA_STREAM_MESSAGE_BYTES,
  });
  const sockets = new Set<WebSocket>();
  let stopped = false;
  if (deps.registry !== undefined) {
    new Gauge({
      name: 'streamspace_replica_routes_served',
      help: "Routed viewer streams this replica serves for other replicas' viewers.",
      registers: [deps.registry],
      collect() {
        this.set(sockets.size);
      },
    });
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const from = headerValue(request.headers[REPLICA_ID_HEADER]);
    if (deps.secret === undefined) {
      return refuseHttp(socket, 404, 'not_found', 'replica routing is not configured here');
    }
    if (!replicaSecretMatches(request.headers.authorization, deps.secret)) {
      logger.warn({ from, remoteAddress: request.socket.remoteAddress }, 'replica route refused');
      return refuseHttp(socket, 401, 'unauthenticated', 'wrong or missing replica secret');
    }
    if (stopped) return refuseHttp(socket, 503, 'internal', 'this replica is shutting down');
    if (headerValue(request.headers[REPLICA_TARGET_HEADER]) !== deps.replicaId) {
      // Two replicas advertising one URL, or an old address reused: say so, do not serve.
      return refuseHttp(socket, 421, 'conflict', 'this is not the replica the route was meant for');
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = ReplicaStreamQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) {
      return refuseHttp(socket, 400, 'bad_request', 'agentId, sessionId and port are required');
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      serve(ws, query.data, logger.child({ from, ...query.data })).catch((error: unknown) => {
        logger.error({ err: error }, 'replica route failed');
        ws.close(CloseCode.internalError, 'internal error');
      });
    });
  }

  async function serve(ws: WebSocket, query: ReplicaStreamQuery, log: Logger): Promise<void> {
    // Nothing is read before the stream is open: the calling replica sends only after it.
    ws.pause();
    ws.on('error', () => {});
    sockets.add(ws);
    ws.once('close', () => sockets.delete(ws));
    if (stopped) return closeRoute(ws, CloseCode.serverShutdown, 'this replica is shutting down');
    const endpoint = deps.localEndpoint(query.agentId);
    if (endpoint === undefined) {
      log.info('replica route refused: the agent link is not here');
      return closeRoute(ws, CloseCode.agentOffline, LINK_NOT_HERE);
    }
    try {
      await endpoint.openStream({ sessionId: query.sessionId, port: query.port }, (stream) => {
        const opened: ReplicaStreamOpened = { type: 'opened' };
        ws.send(JSON.stringify(opened));
        log.info({ streamId: stream.id }, 'replica route opened');
        return routedPort(ws)(stream);
      });
    } catch (error) {
      const code = error instanceof StreamOpenError ? error.code : 'connect_failed';
      log.info({ code }, 'replica route could not open the stream');
      if (code === 'link_closed' || code === 'agent_shutting_down') {
        return closeRoute(ws, CloseCode.agentOffline, 'the agent went offline');
      }
      return closeRoute(ws, CloseCode.streamFailed, `stream failed: ${code}`);
    }
  }

  return {
    handleUpgrade,
    /** Routed streams served right now. */
    routeCount: (): number => sockets.size,
    /** Refuse new routes and end the open ones; their viewers hear the owner went away. */
    close(): void {
      stopped = true;
      for (const ws of sockets) closeRoute(ws, CloseCode.serverShutdown, 'replica shutting down');
      wss.close();
    },
  };
}

/**
 * The routed WebSocket as the local end of the agent stream, like a viewer's (viewer-port.ts):
 * bytes go out as binary messages and credit goes back to the agent only once the kernel took
 * them; the socket is paused while the agent's side has no room for the caller's bytes.
 */
function routedPort(ws: WebSocket): AttachPort {
  return (stream) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) stream.push(data as Buffer);
    });
    ws.on('close', () => stream.end('routed viewer closed'));
    if (ws.readyState !== ws.OPEN) stream.end('routed viewer closed');
    ws.resume();
    return {
      write(chunk, onFlushed) {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(chunk, { binary: true }, () => onFlushed());
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      terminate: (end) => {
        const { code, reason } = closeFor(end);
        closeRoute(ws, code, reason);
      },
    };
  };
}

/** What the calling replica passes on to its viewer (remote-stream-opener.ts reads these). */
function closeFor(end: StreamEnd): { code: number; reason: string } {
  switch (end.kind) {
    case 'peer_closed':
      return { code: CloseCode.normal, reason: 'the session closed the connection' };
    case 'link_closed':
      return { code: CloseCode.agentOffline, reason: 'the agent went offline' };
    case 'peer_error':
    case 'protocol_error':
      if (end.code === 'agent_shutting_down') {
        return { code: CloseCode.agentOffline, reason: 'the agent went offline' };
      }
      return { code: CloseCode.streamFailed, reason: `stream failed: ${end.code}` };
  }
}

/** Resumed first so the closing handshake is read (a paused ws waits 30 s for it). */
function closeRoute(ws: WebSocket, code: number, reason: string): void {
  ws.resume();
  ws.close(code, reason);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function refuseHttp(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} Refused\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
