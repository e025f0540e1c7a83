import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '@streamspace/protocol';
import type { Config } from '../config';
import type { Db } from '../db/database';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import { createReplicaRegistry } from './replica-registry';
import { isReplicaStreamPath } from './replica-stream-protocol';
import { createReplicaStreamServer } from './replica-stream-server';
import { createReplicaViewers } from './replica-viewers';
import { createStreamRouter } from './stream-router';

export interface ReplicaWiringDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<
    Config,
    'replicaId' | 'replicaSecret' | 'replicaUrl' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'
  >;
  registry: Registry;
  /** The stream side of an agent link this process holds (hub.streamEndpoint). */
  localEndpoint(agentId: string): ViewerStreamOpener | undefined;
  /** Viewers of a session on this process (vnc.viewerCount); bound late, like app.ts does. */
  localViewerCount(sessionId: string): number;
}

/**
 * Several control-plane replicas (docs/architecture.md, "Several replicas"): this replica's
 * row and heartbeat, the internal endpoint that serves routes to the agent links it holds,
 * the VNC proxy's `streamEndpointFor` that routes to the replica holding a link, and viewer
 * counts across replicas. Without STREAMSPACE_REPLICA_SECRET only the row is kept.
 */
export function wireReplicas(server: Server, deps: ReplicaWiringDeps) {
  const { db, clock, logger, config } = deps;
  const registry = createReplicaRegistry({
    db,
    clock,
    logger,
    replicaId: config.replicaId,
    heartbeatMs: config.heartbeatIntervalMs,
    ttlMs: config.heartbeatTimeoutMs,
  });
  const streams = createReplicaStreamServer({
    replicaId: config.replicaId,
    secret: config.replicaSecret,
    logger,
    localEndpoint: deps.localEndpoint,
    registry: deps.registry,
  });
  server.on('upgrade', (request, socket, head) => {
    if (isReplicaStreamPath(request.url)) streams.handleUpgrade(request, socket, head);
  });
  const viewers =
    config.replicaSecret === undefined
      ? undefined
      : createReplicaViewers({
          db,
          replicaId: config.replicaId,
          logger,
          localCount: deps.localViewerCount,
        });
  return {
    streamEndpointFor: createStreamRouter({
      replicaId: config.replicaId,
      secret: config.replicaSecret,
      registry,
      localEndpoint: deps.localEndpoint,
      clock,
      logger,
    }),
    /** Record this replica's viewer count of a session (before announcing the change). */
    recordViewers: async (sessionId: string): Promise<void> => viewers?.record(sessionId),
    /** For the session views: viewers on the other live replicas. */
    remoteViewerCounts: viewers?.remoteCounts,
    /** Register under the internal URL (STREAMSPACE_REPLICA_URL, else the listening one). */
    start: (listeningUrl: string) => registry.start(config.replicaUrl ?? listeningUrl),
    /** End served routes at once; their viewers hear this replica went away. */
    closeRoutes: () => streams.close(),
    /** Remove this replica's row (and with it its viewer counts). */
    stop: () => registry.stop(),
  };
}
