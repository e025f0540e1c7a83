import { Socket } from 'node:net';

/**
 * Bytes one read of a session socket may return. As large as what Node reads by default, so
 * the mux's bound on a stream's queue (half a window plus one read) stays within the window.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * One buffer all session-socket reads of this process go into. Safe to share: a read's
 * callback runs to completion on the one JS thread and copies the bytes out before the next.
 */
let sharedReadBuffer: Buffer | undefined;

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
  if (onreadSymbols === undefined || !(socket instanceof Socket)) return false;
  // A TLS socket's handle decrypts into buffers of its own: leave it alone.
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (socket.connecting || socket.destroyed || typeof handle?.useUserBuffer !== 'function') {
    return false;
  }
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
    onChunk(chunk);
  }
  sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[onreadSymbols.buffer] = sharedReadBuffer;
  fields[onreadSymbols.gen] = null;
  fields[onreadSymbols.callback] = (bytes: number, buffer: Buffer) => {
    onChunk(buffer.subarray(0, bytes));
    return true;
  };
  handle.useUserBuffer(sharedReadBuffer);
  // Reads may have stopped when Node's own buffer filled before the switch.
  socket.resume();
  return true;
}
