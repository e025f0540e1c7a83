import { Socket } from 'node:net';

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

/** The private symbols behind net.Socket's `onread` option, found on a probe socket. */
const onreadSymbols = (() => {
  try {
    // `onread` is a documented net.Socket option (Node ≥ 12) missing from the constructor's type.
    const options = { onread: { buffer: Buffer.alloc(1), callback: () => true } };
    const probe = new Socket(options as ConstructorParameters<typeof Socket>[0]);
    const find = (description: string) =>
      Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === description);
    const [buffer, callback, gen] = [find('kBuffer'), find('kBufferCb'), find('kBufferGen')];
    probe.destroy();
    return buffer && callback && gen ? { buffer, callback, gen } : undefined;
  } catch {
    return undefined;
  }
})();

interface UserBufferHandle {
  useUserBuffer?(buffer: Uint8Array): void;
}

/** Where reads of a socket switched by `readIntoProvidedBuffers` go. */
export interface ReadSink {
  /** Bytes Node had already read before the switch, in its own buffers, in order. */
  buffered(chunk: Buffer): void;
  /**
   * The memory the next read goes into (asked for once at the switch and after every read).
   * It must stay valid and untouched by anyone else until the following call.
   */
  nextBuffer(): Buffer;
  /** A read put `bytes` bytes (> 0) at the start of `buffer`, the last `nextBuffer()`. */
  read(bytes: number, buffer: Buffer): void;
}

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

/**
 * Like `readIntoReusedBuffer`, but every read goes into the buffer `sink.nextBuffer()`
 * returned after the read before (Node's `onread.buffer` given as a function): a stream
 * mux reads straight into the tail of a stream's send queue this way. Node keeps a
 * reference to the buffer of the pending read, so it stays alive even if the sink drops it.
 * Same conditions and return value as `readIntoReusedBuffer`.
 */
export function readIntoProvidedBuffers(socket: unknown, sink: ReadSink): boolean {
  if (onreadSymbols === undefined || !(socket instanceof Socket)) return false;
  // A TLS socket's handle decrypts into buffers of its own: leave it alone.
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (socket.connecting || socket.destroyed || typeof handle?.useUserBuffer !== 'function') {
    return false;
  }
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
    sink.buffered(chunk);
  }
  const first = sink.nextBuffer();
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[onreadSymbols.buffer] = first;
  // Node calls the generator after each read and reads next into what it returns.
  fields[onreadSymbols.gen] = sink.nextBuffer;
  fields[onreadSymbols.callback] = (bytes: number, buffer: Buffer) => {
    sink.read(bytes, buffer);
    return true;
  };
  handle.useUserBuffer(first);
  // Reads may have stopped when Node's own buffer filled before the switch.
  socket.resume();
  return true;
}
