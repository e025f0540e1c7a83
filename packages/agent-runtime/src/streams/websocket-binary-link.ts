import type { Socket } from 'node:net';
import type { BinaryLink } from '@streamspace/protocol';
import type { WebSocket } from 'ws';

/**
 * A BinaryLink over a `ws` WebSocket: what the hub and the agent runtime hand the stream
 * mux. `onWritable` listens for the underlying socket's 'drain' (ws has no public event).
 */
export function webSocketBinaryLink(ws: WebSocket): BinaryLink {
  return {
    send: (data) => ws.send(data, { binary: true }),
    bufferedBytes: () => ws.bufferedAmount,
    onWritable: (listener) => {
      const socket = (ws as unknown as { _socket?: Socket })._socket;
      socket?.on('drain', listener);
    },
  };
}
