import type { Socket } from 'node:net';
import type { BinaryLink } from '@streamspace/protocol';
import type { PartsLink } from '@streamspace/stream-mux';
import type { WebSocket } from 'ws';
import { createMaskedFrameWriter } from './masked-frame-writer';

/** ws's sender state when nothing is queued inside it (no compression, no Blob pending). */
const SENDER_IDLE = 0;

/**
 * A BinaryLink over a `ws` WebSocket: what the hub and the agent runtime hand the stream
 * mux. `onWritable` listens for the underlying socket's 'drain' (ws has no public event).
 */
export function webSocketBinaryLink(ws: WebSocket): BinaryLink & PartsLink {
  const internals = ws as unknown as {
    _isServer?: boolean;
    _socket?: Socket;
    _sender?: { _state?: number };
  };
  const socket = internals._socket;
  // The agent dials out, so it is the client and masks every frame (RFC 6455 §5.3). Its
  // messages are built and masked in reused slabs and written to the socket in one piece,
  // exactly as ws writes a frame; ws is bypassed only while its own sender queue is empty,
  // so frame order on the socket is kept. Without compression (the link never negotiates it).
  const writer =
    internals._isServer === false && ws.extensions === '' && socket !== undefined
      ? createMaskedFrameWriter(socket)
      : undefined;
  return {
    send: (data) => ws.send(data, { binary: true }),
    sendParts(parts, bytes) {
      if (ws.readyState !== ws.OPEN) return;
      if (writer !== undefined && internals._sender?._state === SENDER_IDLE) {
        writer.write(parts, bytes);
        return;
      }
      ws.send(Buffer.concat(parts, bytes), { binary: true });
    },
    bufferedBytes: () => ws.bufferedAmount,
    onWritable: (listener) => {
      socket?.on('drain', listener);
    },
  };
}
