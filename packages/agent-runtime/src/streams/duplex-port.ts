import type { Duplex } from 'node:stream';
import {
  readIntoProvidedBuffers,
  type AttachPort,
  type MuxStream,
  type ReadSink,
} from '@streamspace/stream-mux';
import { readIntoReusedBuffer, sharedReadBuffer } from './reused-read-buffer';

/**
 * The local end of a stream as a Node Duplex (a TCP socket to the session): its reads feed
 * the mux, the mux's writes go into it, and credit is granted on each write callback.
 */
export function duplexPort(duplex: Duplex): AttachPort {
  return (stream) => {
    let ended = false;
    const finish = (reason: string) => {
      if (ended) return;
      ended = true;
      stream.end(reason);
    };
    duplex.on('end', () => finish('end of stream'));
    duplex.on('error', (error: NodeJS.ErrnoException) =>
      finish(`socket error ${error.code ?? ''}`.trim()),
    );
    duplex.on('close', () => finish('socket closed'));
    // A TCP socket reads straight into the tail of the stream's send queue (one copy less
    // per byte: the queue is what the link scheduler masks into the outgoing message), or,
    // where the mux cannot offer that, into one reused buffer that stream.push copies from.
    const sink = queueReadSink(stream);
    const switched =
      (sink !== undefined && readIntoProvidedBuffers(duplex, sink)) ||
      readIntoReusedBuffer(duplex, (chunk) => stream.push(chunk));
    if (!switched) duplex.on('data', (chunk: Buffer) => stream.push(chunk));
    // It may have died between connecting and being attached (its 'close' already fired).
    if (duplex.destroyed) queueMicrotask(() => finish('socket closed'));
    return {
      // The callback also fires (with an error) when the socket is destroyed: credit then
      // no longer matters because the stream is ending.
      write: (chunk, onFlushed) => {
        if (duplex.destroyed) return;
        duplex.write(chunk, () => onFlushed());
      },
      pause: () => duplex.pause(),
      resume: () => duplex.resume(),
      terminate: (end) => {
        ended = true;
        if (end.kind === 'peer_closed') {
          // Let written bytes reach the session, then release the socket.
          duplex.end(() => duplex.destroy());
        } else {
          duplex.destroy();
        }
      },
    };
  };
}

/**
 * Reads into the stream's send queue. Once the stream is no longer open (its bytes are
 * dropped anyway) reads go into the shared scratch buffer.
 */
function queueReadSink(stream: MuxStream): ReadSink | undefined {
  const { readTarget, commitRead } = stream;
  if (readTarget === undefined || commitRead === undefined) return undefined;
  return {
    buffered: (chunk) => stream.push(chunk),
    nextBuffer: () => readTarget() ?? sharedReadBuffer(),
    read: (bytes) => commitRead(bytes),
  };
}
