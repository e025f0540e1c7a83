import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { BinaryLink } from '@streamspace/protocol';
import { linkSlabPoolOf } from './link-socket-reader';

/**
 * BinaryLink over an agent's WebSocket. `socket` is the TCP socket under the WebSocket: its
 * 'drain' says the kernel took the queued bytes, which is when a paused stream may resume.
 */
export function createWsBinaryLink(ws: WebSocket, socket: Duplex): BinaryLink {
  // CREDIT frames going out say which received bytes viewers have taken: their read slabs
  // may then be reused (link-slab-pool.ts).
  const slabs = linkSlabPoolOf(ws);
  return {
    send(data) {
      if (ws.readyState !== ws.OPEN) return;
      slabs?.outbound(data);
      ws.send(data, { binary: true });
    },
    bufferedBytes: () => ws.bufferedAmount,
    onWritable(listener) {
      socket.on('drain', listener);
    },
  };
}
