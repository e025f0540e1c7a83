import type { Logger } from 'pino';
import { CloseCode, type Clock } from '@streamspace/protocol';
import { ViewerCloseError } from '../vnc-proxy/viewer-port';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import { createRemoteStreamOpener } from './remote-stream-opener';
import type { ReplicaRegistry } from './replica-registry';

export const OWNER_REPLICA_EXPIRED =
  "the control-plane replica holding the agent's link is not responding";

export interface StreamRouterDeps {
  replicaId: string;
  /** STREAMSPACE_REPLICA_SECRET; undefined: only locally held links serve viewers. */
  secret: string | undefined;
  registry: Pick<ReplicaRegistry, 'ownerOf'>;
  /** The stream side of an agent link this process holds (hub.streamEndpoint). */
  localEndpoint(agentId: string): ViewerStreamOpener | undefined;
  clock: Clock;
  logger: Logger;
}

/**
 * The VNC proxy's `streamEndpointFor`: the agent link's own mux when this replica holds it,
 * otherwise a route through the live replica the database names as holding it. Undefined
 * means the agent is offline.
 */
export function createStreamRouter(deps: StreamRouterDeps) {
  return async function streamEndpointFor(
    agentId: string,
  ): Promise<ViewerStreamOpener | undefined> {
    const local = deps.localEndpoint(agentId);
    if (local !== undefined || deps.secret === undefined) return local;
    const owner = await deps.registry.ownerOf(agentId);
    switch (owner.kind) {
      case 'none':
        return undefined;
      case 'expired':
        return refusing(new ViewerCloseError(CloseCode.agentOffline, OWNER_REPLICA_EXPIRED));
      case 'replica':
        // The row still names us while our link's offline write is on its way: it is gone.
        if (owner.replicaId === deps.replicaId) return undefined;
        return createRemoteStreamOpener({
          replicaId: deps.replicaId,
          owner,
          secret: deps.secret,
          agentId,
          clock: deps.clock,
          logger: deps.logger,
        });
    }
  };
}

function refusing(error: ViewerCloseError): ViewerStreamOpener {
  return { openStream: () => Promise.reject(error) };
}
