import type { WebSocket } from 'ws';
import type { AttachPort, StreamEnd } from '@streamspace/stream-mux';
import { CloseCode } from '@streamspace/protocol';

export interface ViewerPortOptions {
  /** Messages the viewer sent before the stream was up (RFB clients normally send none). */
  early: Buffer[];
  /** Every client→server message, for activity stamps and metrics. */
  onInput(bytes: number): void;
  onOutput(bytes: number): void;
  /**
   * The session's state now, asked when the session closes the connection: a session that
   * is hibernating or stopping closes its VNC server, and the viewer is told that (4011)
   * rather than a plain normal close.
   */
  sessionState(): Promise<string | undefined>;
}

/**
 * The viewer's WebSocket as the local end of a stream: RFB bytes from the session go out in
 * binary frames; credit is granted back as ws's send callbacks report bytes handed to the
 * kernel, so a slow viewer holds at most one window of backlog here.
 */
export function viewerPort(ws: WebSocket, options: ViewerPortOptions): AttachPort {
  return (stream) => {
    for (const message of options.early.splice(0)) stream.push(message);
    ws.on('message', (data: Buffer) => {
      options.onInput(data.length);
      stream.push(data);
    });
    ws.on('close', () => stream.end('viewer closed'));
    if (ws.readyState !== ws.OPEN) stream.end('viewer closed');
    ws.resume();
    return {
      write(chunk, onFlushed) {
        if (ws.readyState !== ws.OPEN) return;
        options.onOutput(chunk.length);
        ws.send(chunk, { binary: true }, () => onFlushed());
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      terminate: (end) => {
        // Resumed so the closing handshake is read; a paused ws waits 30 s for it.
        ws.resume();
        if (end.kind !== 'peer_closed') {
          const { code, reason } = closeFor(end);
          ws.close(code, reason);
          return;
        }
        void options
          .sessionState()
          .catch(() => undefined)
          .then((state) => {
            const { code, reason } =
              state !== undefined && state !== 'running'
                ? { code: CloseCode.sessionNotRunning, reason: `the session is ${state}` }
                : closeFor(end);
            ws.close(code, reason);
          });
      },
    };
  };
}

/**
 * Why a routed viewer's stream ended when the replica holding the agent's link went away
 * (a `link_closed` end with this reason); the viewer is told so rather than "agent offline".
 */
export const OWNER_REPLICA_LOST = "the control-plane replica holding the agent's link went away";

/**
 * An open that failed with what the viewer should be told already decided (a routed stream
 * whose owner replica refused or could not be reached): the proxy closes with these.
 */
export class ViewerCloseError extends Error {
  override readonly name = 'ViewerCloseError';

  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** How a viewer is told its stream ended (close-codes.ts; reasons ≤ 123 bytes, RFC 6455). */
function closeFor(end: StreamEnd): { code: number; reason: string } {
  switch (end.kind) {
    case 'peer_closed':
      return { code: CloseCode.normal, reason: 'the session closed the connection' };
    case 'link_closed':
      return {
        code: CloseCode.agentOffline,
        reason: end.reason === OWNER_REPLICA_LOST ? OWNER_REPLICA_LOST : 'the agent went offline',
      };
    case 'peer_error':
    case 'protocol_error':
      if (end.code === 'agent_shutting_down') {
        return { code: CloseCode.agentOffline, reason: 'the agent is shutting down' };
      }
      return { code: CloseCode.streamFailed, reason: `stream failed: ${end.code}` };
  }
}
