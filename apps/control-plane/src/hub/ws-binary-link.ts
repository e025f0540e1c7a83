import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { BinaryLink } from '@streamspace/protocol';

/**
 * BinaryLink over an agent's WebSocket. `socket` is the TCP socket under the WebSocket: its
 * 'drain' says the kernel took the queued bytes, which is when a paused stream may resume.
 */
export function createWsBinaryLink(ws: WebSocket, socket: Duplex): BinaryLink {
  return {
    send(data) {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(data, { binary: true });
    },
    bufferedBytes: () => ws.bufferedAmount,
    onWritable(listener) {
      socket.on('drain', listener);
    },
  };
}
