import type { Logger } from 'pino';
import type { BinaryLink, Clock, StreamEndpoint } from '@streamspace/protocol';
import { isDriverError, type SessionDriver } from '@streamspace/session-driver';
import { duplexPort } from './duplex-port';
import { createStreamMux, type StreamMuxStats, type StreamMuxHooks } from '@streamspace/stream-mux';

export interface AgentStreamMuxContext {
  /** Only `openStream` is used: a duplex byte stream to a TCP port of the session. */
  driver: Pick<SessionDriver, 'openStream'>;
  logger: Logger;
  clock?: Clock;
  windowBytes?: number;
  maxStreams?: number;
  hooks?: StreamMuxHooks;
}

export interface AgentStreamMux extends StreamEndpoint {
  stats(): StreamMuxStats;
}

/**
 * The agent's end of the stream mux: answers the control plane's OPEN by connecting to the
 * session port through the driver, then pumps bytes with per-stream credit. This is the
 * agent runtime's `createStreamEndpoint`.
 */
export function createAgentStreamMux(
  link: BinaryLink,
  { driver, logger, clock, windowBytes, maxStreams, hooks }: AgentStreamMuxContext,
): AgentStreamMux {
  const log = logger.child({ module: 'streams' });
  const mux = createStreamMux({
    link,
    role: 'acceptor',
    logger: log,
    clock,
    windowBytes,
    maxStreams,
    hooks,
    onOpenRequest: (request) => {
      const { sessionId, port } = request.target;
      driver.openStream(sessionId, port).then(
        (duplex) => {
          if (request.cancelled() || request.accept(duplexPort(duplex)) === null) {
            duplex.destroy();
            return;
          }
          log.debug({ streamId: request.streamId, sessionId, port }, 'stream opened');
        },
        (error: unknown) => {
          const notFound = isDriverError(error) && error.code === 'session_not_found';
          log.info(
            { streamId: request.streamId, sessionId, port, err: errorMessage(error) },
            'stream open failed',
          );
          request.reject({
            code: notFound ? 'session_not_found' : 'connect_failed',
            message: notFound ? 'no such session on this agent' : `cannot connect to port ${port}`,
          });
        },
      );
    },
  });
  return { handleBinary: mux.handleBinary, closeAll: mux.closeAll, stats: mux.stats };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
