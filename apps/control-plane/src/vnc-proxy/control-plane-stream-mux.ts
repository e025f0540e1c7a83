import type { Logger } from 'pino';
import type { BinaryLink, Clock, StreamEndpoint } from '@streamspace/protocol';
import {
  createStreamMux,
  type AttachPort,
  type StreamMuxStats,
  type StreamTarget,
  type MuxStream,
  type StreamMuxHooks,
} from '@streamspace/stream-mux';

export interface ControlPlaneStreamMuxContext {
  agentId: string;
  logger: Logger;
  clock?: Clock;
  windowBytes?: number;
  maxStreams?: number;
  openTimeoutMs?: number;
  hooks?: StreamMuxHooks;
}

/** The control plane's end of one agent link's streams. */
export interface ControlPlaneStreamMux extends StreamEndpoint {
  /**
   * Open a TCP stream to a port of a session on this agent. `attach` builds the local end
   * (e.g. the viewer's WebSocket) synchronously when the agent answers OPEN_OK; the promise
   * then resolves. Rejects with StreamOpenError (`session_not_found`, `connect_failed`,
   * `open_timeout`, `link_closed`, `too_many_streams`, …).
   */
  openStream(target: StreamTarget, attach: AttachPort): Promise<MuxStream>;
  stats(): StreamMuxStats;
}

/** The hub's `createStreamEndpoint`: one per agent link. */
export function createControlPlaneStreamMux(
  link: BinaryLink,
  context: ControlPlaneStreamMuxContext,
): ControlPlaneStreamMux {
  const mux = createStreamMux({
    link,
    role: 'opener',
    logger: context.logger.child({ module: 'streams', agentId: context.agentId }),
    clock: context.clock,
    windowBytes: context.windowBytes,
    maxStreams: context.maxStreams,
    openTimeoutMs: context.openTimeoutMs,
    hooks: context.hooks,
  });
  return {
    handleBinary: mux.handleBinary,
    closeAll: mux.closeAll,
    openStream: mux.open,
    stats: mux.stats,
  };
}
