import type { Duplex } from 'node:stream';
import { readIntoReusedBuffer } from './reused-read-buffer';
import type { AttachPort } from '@streamspace/stream-mux';

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
    // stream.push copies what it is given, so a TCP socket can read into one reused buffer.
    if (!readIntoReusedBuffer(duplex, (chunk) => stream.push(chunk))) {
      duplex.on('data', (chunk: Buffer) => stream.push(chunk));
    }
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
