import { Socket } from 'node:net';

/*
 * Reads of a TCP socket into memory the caller chooses (Node's `onread` mode), switched on
 * after the socket is connected: both ends of an agent link use it to avoid Node's new
 * ArrayBuffer per read (the agent for session sockets, the control plane for link sockets).
 */

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
 * Switch a connected TCP socket to Node's `onread` mode (net.Socket option `onread`, which a
 * socket made by someone else's connect() cannot be asked for): every read goes into the
 * buffer `sink.nextBuffer()` returned after the read before. Node keeps a reference to the
 * buffer of the pending read, so it stays alive even if the sink drops it. Bytes the socket
 * had already read are handed to `sink.buffered` first. `pause()`/`resume()` keep working
 * (net.Socket stops and restarts the handle's reads in this mode), and 'end', 'error' and
 * 'close' are emitted as usual; 'data' is not. Returns false, changing nothing, unless
 * `canReadIntoProvidedBuffers(socket)`.
 */
export function readIntoProvidedBuffers(socket: unknown, sink: ReadSink): boolean {
  if (onreadSymbols === undefined || !canReadIntoProvidedBuffers(socket)) return false;
  const handle = (socket as unknown as { _handle: Required<UserBufferHandle> })._handle;
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

/**
 * Whether `readIntoProvidedBuffers` can switch this socket: a connected plain TCP socket (not
 * TLS, whose handle decrypts into buffers of its own) on a Node that exposes the mechanism.
 */
export function canReadIntoProvidedBuffers(socket: unknown): socket is Socket {
  if (onreadSymbols === undefined || !(socket instanceof Socket)) return false;
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  return !socket.connecting && !socket.destroyed && typeof handle?.useUserBuffer === 'function';
}
