import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { CloseCode, StreamError, type Clock, type ClockTimer } from '@streamspace/protocol';
import type { StreamTarget, MuxStream, StreamEnd, StreamPort } from '@streamspace/stream-mux';
import { OWNER_REPLICA_LOST, ViewerCloseError } from '../vnc-proxy/viewer-port';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import {
  MAX_REPLICA_STREAM_MESSAGE_BYTES,
  REPLICA_ID_HEADER,
  REPLICA_TARGET_HEADER,
  ReplicaStreamOpened,
  replicaStreamUrl,
} from './replica-stream-protocol';

/** How long the owner has to open the stream on its agent, in ms (the agent mux waits 10 s). */
export const ROUTE_OPEN_TIMEOUT_MS = 15_000;
/**
 * How long the owner has to accept the WebSocket itself, in ms: a replica on a vanished pod
 * IP never answers, and its agent is back on a live replica within seconds, so the viewer
 * is told sooner and its reconnect finds the new owner.
 */
export const ROUTE_CONNECT_TIMEOUT_MS = 5_000;
/**
 * Bytes in flight per direction on a route before its source is paused, and the level at
 * which it resumes. A quarter of a window-sized backlog keeps a routed viewer's memory as
 * bounded as a local one's (TARGETS.md: 256 KiB windows).
 */
export const ROUTE_HIGH_WATER_BYTES = 256 * 1024;
export const ROUTE_LOW_WATER_BYTES = 64 * 1024;
/**
 * An open route is pinged this often, in ms; an owner that leaves two pings in a row
 * unanswered (while this end was reading) is taken as gone. A silently dead host sends no
 * FIN or RST, and an idle RFB stream sends nothing, so only this notices.
 */
export const ROUTE_PING_INTERVAL_MS = 10_000;

export const OWNER_REPLICA_UNREACHABLE =
  "the control-plane replica holding the agent's link is unreachable";
export const OWNER_REPLICA_REFUSED =
  "the control-plane replica holding the agent's link refused the route";

export interface RemoteStreamOpenerDeps {
  /** This replica (sent so the owner's logs say who asked). */
  replicaId: string;
  owner: { replicaId: string; url: string };
  secret: string;
  agentId: string;
  clock: Clock;
  logger: Logger;
  openTimeoutMs?: number;
  pingIntervalMs?: number;
}

let nextRouteId = 1;

/**
 * Opens a viewer's stream through the replica that holds the agent's link: one WebSocket per
 * stream to its REPLICA_STREAM_PATH (replica-stream-protocol.ts). To the VNC proxy it looks
 * like the local agent link's mux: `attach` runs when the owner says the stream is open.
 */
export function createRemoteStreamOpener(deps: RemoteStreamOpenerDeps): ViewerStreamOpener {
  const openTimeoutMs = deps.openTimeoutMs ?? ROUTE_OPEN_TIMEOUT_MS;
  const pingIntervalMs = deps.pingIntervalMs ?? ROUTE_PING_INTERVAL_MS;
  return {
    openStream: (target, attach) =>
      new Promise<MuxStream>((resolve, reject) => {
        const logger = deps.logger.child({
          module: 'replica-route',
          owner: deps.owner.replicaId,
          agentId: deps.agentId,
          sessionId: target.sessionId,
        });
        const ws = openRoute(deps, target, Math.min(openTimeoutMs, ROUTE_CONNECT_TIMEOUT_MS));
        let port: StreamPort | undefined;
        let settled = false;
        let endedHere = false;
        const timer = deps.clock.setTimeout(() => {
          logger.warn({ timeoutMs: openTimeoutMs }, 'replica route did not open in time');
          fail(new ViewerCloseError(CloseCode.agentOffline, OWNER_REPLICA_UNREACHABLE));
        }, openTimeoutMs);

        function fail(error: ViewerCloseError): void {
          if (settled) return;
          settled = true;
          deps.clock.clearTimeout(timer);
          ws.terminate();
          reject(error);
        }

        // Owner → viewer: pause the route while the viewer has a full backlog unflushed.
        let unflushed = 0;
        let routePaused = false;
        function deliver(chunk: Buffer): void {
          const length = chunk.length;
          unflushed += length;
          port?.write(chunk, () => {
            unflushed -= length;
            if (routePaused && unflushed <= ROUTE_LOW_WATER_BYTES) {
              routePaused = false;
              ws.resume();
            }
          });
          if (!routePaused && unflushed >= ROUTE_HIGH_WATER_BYTES) {
            routePaused = true;
            ws.pause();
          }
        }

        // Liveness: pongs are not read while the route is paused (a slow viewer), so only
        // checks made while reading count against the owner.
        let answered = true;
        let missed = 0;
        let pingTimer: ClockTimer | undefined;
        ws.on('pong', () => {
          answered = true;
        });
        function ping(): void {
          pingTimer = undefined;
          if (ws.readyState !== ws.OPEN) return;
          missed = answered || routePaused ? 0 : missed + 1;
          if (missed >= 2) {
            logger.warn({ intervalMs: pingIntervalMs }, 'replica route stopped answering pings');
            ws.terminate();
            return;
          }
          answered = false;
          ws.ping();
          pingTimer = deps.clock.setTimeout(ping, pingIntervalMs);
        }

        // Viewer → owner: pause the viewer while the route's socket has a backlog.
        let queued = 0;
        let viewerPaused = false;
        const handle: MuxStream = {
          id: nextRouteId++,
          push(chunk) {
            if (endedHere || ws.readyState !== ws.OPEN || chunk.length === 0) return;
            const length = chunk.length;
            queued += length;
            ws.send(Buffer.from(chunk), { binary: true }, () => {
              queued -= length;
              if (viewerPaused && queued <= ROUTE_LOW_WATER_BYTES) {
                viewerPaused = false;
                port?.resume();
              }
            });
            if (!viewerPaused && queued >= ROUTE_HIGH_WATER_BYTES) {
              viewerPaused = true;
              port?.pause();
            }
          },
          end(reason = '') {
            if (endedHere) return;
            endedHere = true;
            ws.resume();
            ws.close(CloseCode.normal, reason.slice(0, 120));
          },
          queuedBytes: () => queued,
        };

        ws.on('message', (data: RawData, isBinary: boolean) => {
          const buffer = data as Buffer;
          if (port !== undefined) {
            if (isBinary) deliver(buffer);
            return;
          }
          const opened = isBinary ? undefined : parseOpened(buffer);
          if (opened === undefined) {
            logger.warn('replica route sent bytes before it opened');
            fail(new ViewerCloseError(CloseCode.streamFailed, 'stream failed: invalid_frame'));
            return;
          }
          if (settled) return;
          settled = true;
          deps.clock.clearTimeout(timer);
          pingTimer = deps.clock.setTimeout(ping, pingIntervalMs);
          port = attach(handle);
          resolve(handle);
        });
        ws.on('error', (error: Error) => {
          if (port !== undefined) return;
          // ws reports a refused handshake as "Unexpected server response: <status>".
          const refused = /Unexpected server response/.test(error.message);
          logger.warn({ err: error.message }, 'replica route could not be opened');
          fail(
            new ViewerCloseError(
              CloseCode.agentOffline,
              refused ? OWNER_REPLICA_REFUSED : OWNER_REPLICA_UNREACHABLE,
            ),
          );
        });
        ws.on('close', (code: number, reasonBuffer: Buffer) => {
          if (pingTimer !== undefined) deps.clock.clearTimeout(pingTimer);
          const reason = reasonBuffer.toString('utf8');
          if (port === undefined) {
            // The owner decided before the stream opened: its 4010/4012 say what to tell.
            const decided = code === CloseCode.agentOffline || code === CloseCode.streamFailed;
            fail(
              decided
                ? new ViewerCloseError(code, reason)
                : new ViewerCloseError(CloseCode.agentOffline, OWNER_REPLICA_UNREACHABLE),
            );
            return;
          }
          if (endedHere) return;
          const end = endFor(code, reason);
          logger.info({ code, end: end.kind }, 'replica route ended');
          port.terminate(end);
        });
      }),
  };
}

function openRoute(deps: RemoteStreamOpenerDeps, target: StreamTarget, timeoutMs: number) {
  const ws = new WebSocket(replicaStreamUrl(deps.owner.url, { agentId: deps.agentId, ...target }), {
    headers: {
      authorization: `Bearer ${deps.secret}`,
      [REPLICA_ID_HEADER]: deps.replicaId,
      [REPLICA_TARGET_HEADER]: deps.owner.replicaId,
    },
    perMessageDeflate: false,
    maxPayload: MAX_REPLICA_STREAM_MESSAGE_BYTES,
    handshakeTimeout: timeoutMs,
  });
  return ws;
}

function parseOpened(data: Buffer): ReplicaStreamOpened | undefined {
  try {
    const parsed = ReplicaStreamOpened.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The owner's close (replica-stream-server.ts closeFor) as the viewer's stream end. */
function endFor(code: number, reason: string): StreamEnd {
  if (code === CloseCode.normal) return { kind: 'peer_closed', reason };
  if (code === CloseCode.agentOffline) return { kind: 'link_closed', reason };
  if (code === CloseCode.streamFailed) {
    const failed = StreamError.shape.code.safeParse(reason.replace(/^stream failed: /, ''));
    return {
      kind: 'peer_error',
      code: failed.success ? failed.data : 'connect_failed',
      message: reason,
    };
  }
  // Shutdown (4016), going away (1001) or a dead connection (1006): the owner is gone.
  return { kind: 'link_closed', reason: OWNER_REPLICA_LOST };
}
