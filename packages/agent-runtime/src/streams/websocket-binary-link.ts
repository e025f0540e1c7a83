import type { Socket } from 'node:net';
import type { BinaryLink } from '@streamspace/protocol';
import type { WebSocket } from 'ws';

/** A link whose send() copies the data before returning (so the sender may reuse its buffer). */
export interface ScratchReuse {
  reusableAfterSend?: boolean;
}

/**
 * A BinaryLink over a `ws` WebSocket: what the hub and the agent runtime hand the stream
 * mux. `onWritable` listens for the underlying socket's 'drain' (ws has no public event).
 */
export function webSocketBinaryLink(ws: WebSocket): BinaryLink & ScratchReuse {
  const internals = ws as unknown as { _isServer?: boolean };
  return {
    // A client masks every frame (RFC 6455 §5.3); without compression ws masks into a new
    // buffer inside send(), so the caller's buffer is free again when send() returns.
    reusableAfterSend: internals._isServer === false && ws.extensions === '',
    send: (data) => ws.send(data, { binary: true }),
    bufferedBytes: () => ws.bufferedAmount,
    onWritable: (listener) => {
      const socket = (ws as unknown as { _socket?: Socket })._socket;
      socket?.on('drain', listener);
    },
  };
}
