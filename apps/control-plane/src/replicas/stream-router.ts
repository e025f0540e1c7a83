import type { Logger } from 'pino';
import { CloseCode, type Clock } from '@streamspace/protocol';
import { ViewerCloseError } from '../vnc-proxy/viewer-port';
import type { ViewerStreamOpener } from '../vnc-proxy/vnc-proxy';
import { createRemoteStreamOpener } from './remote-stream-opener';
import type { ReplicaRegistry } from './replica-registry';
import { LINK_NOT_HERE } from './replica-stream-server';

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
  /** Route timings, for tests (remote-stream-opener.ts has the defaults). */
  openTimeoutMs?: number;
}

/** Where a viewer's stream goes: this process's link, another replica, or nowhere. */
type Route =
  | { kind: 'local' | 'replica'; owner: string; opener: ViewerStreamOpener }
  | { kind: 'offline' }
  | { kind: 'refused'; error: ViewerCloseError };

/**
 * The VNC proxy's `streamEndpointFor`: the agent link's own mux when this replica holds it,
 * otherwise a route through the live replica the database names as holding it. Undefined
 * means the agent is offline.
 */
export function createStreamRouter(deps: StreamRouterDeps) {
  async function route(agentId: string): Promise<Route> {
    const local = deps.localEndpoint(agentId);
    if (local !== undefined) return { kind: 'local', owner: deps.replicaId, opener: local };
    if (deps.secret === undefined) return { kind: 'offline' };
    const owner = await deps.registry.ownerOf(agentId);
    switch (owner.kind) {
      case 'none':
        return { kind: 'offline' };
      case 'expired':
        return {
          kind: 'refused',
          error: new ViewerCloseError(CloseCode.agentOffline, OWNER_REPLICA_EXPIRED),
        };
      case 'replica':
        // The row still names us while our link's offline write is on its way: it is gone.
        if (owner.replicaId === deps.replicaId) return { kind: 'offline' };
        return {
          kind: 'replica',
          owner: owner.replicaId,
          opener: createRemoteStreamOpener({
            replicaId: deps.replicaId,
            owner,
            secret: deps.secret,
            agentId,
            clock: deps.clock,
            logger: deps.logger,
            openTimeoutMs: deps.openTimeoutMs,
          }),
        };
    }
  }

  return async function streamEndpointFor(
    agentId: string,
  ): Promise<ViewerStreamOpener | undefined> {
    const first = await route(agentId);
    if (first.kind === 'offline') return undefined;
    if (first.kind === 'refused') return refusing(first.error);
    if (first.kind === 'local') return first.opener;
    return {
      async openStream(target, attach) {
        try {
          return await first.opener.openStream(target, attach);
        } catch (error) {
          // The agent reconnected elsewhere between the lookup and the route: look once more.
          if (!(error instanceof ViewerCloseError) || error.reason !== LINK_NOT_HERE) throw error;
          const again = await route(agentId);
          if (again.kind === 'refused') throw again.error;
          if (again.kind === 'offline') throw error;
          if (again.owner === first.owner) throw error;
          return again.opener.openStream(target, attach);
        }
      },
    };
  };
}

function refusing(error: ViewerCloseError): ViewerStreamOpener {
  return { openStream: () => Promise.reject(error) };
}
