import { readIntoProvidedBuffers } from '@streamspace/stream-mux';

/**
 * Bytes one read of a session socket may return. As large as what Node reads by default, so
 * the mux's bound on a stream's queue (half a window plus one read) stays within the window.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * One buffer all session-socket reads of this process may go into. Safe to share: a read's
 * callback runs to completion on the one JS thread and copies the bytes out before the next.
 */
let shared: Buffer | undefined;

/**
 * The process's shared read buffer: for reads whose bytes are handled (copied or dropped)
 * before the callback returns, since the next read of any socket overwrites it.
 */
export function sharedReadBuffer(): Buffer {
  shared ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return shared;
}

/**
 * Switch an already connected TCP socket to Node's `onread` mode (net.Socket option
 * `onread`, which the drivers' connect() cannot be asked for): every read lands in one
 * reused buffer and `onChunk` gets a view of it that is valid only during the call.
 * Without this, Node allocates a new 64 KiB ArrayBuffer per read; at a gigabyte per second
 * that external memory, not the JS heap, made V8 run a full mark-compact every ~20–50 ms
 * on the agent.
 *
 * Bytes the socket had already read are handed over first. `pause()`/`resume()` keep
 * working (net.Socket stops and restarts the handle's reads in this mode), and 'end',
 * 'error' and 'close' are emitted as usual. Returns false, changing nothing, when the
 * duplex is not a plain TCP socket or this Node does not expose the mechanism.
 */
export function readIntoReusedBuffer(socket: unknown, onChunk: (chunk: Buffer) => void): boolean {
  return readIntoProvidedBuffers(socket, {
    buffered: onChunk,
    nextBuffer: sharedReadBuffer,
    read: (bytes, buffer) => onChunk(buffer.subarray(0, bytes)),
  });
}
