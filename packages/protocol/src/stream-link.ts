/**
 * The seam between an agent link's WebSocket and the stream multiplexer on either side.
 * The hub (control plane) and the agent runtime own the socket; the stream mux owns the
 * streams. Interfaces only: no I/O here.
 */
export interface BinaryLink {
  /** Queue one binary WebSocket message (one or more whole stream frames). */
  send(data: Buffer): void;
  /** Bytes queued on the socket and not yet written to the kernel. */
  bufferedBytes(): number;
  /** Register a listener called when queued bytes drain (the socket becomes writable again). */
  onWritable(listener: () => void): void;
}

/** What the socket owner calls on the stream side. */
export interface StreamEndpoint {
  /** One binary WebSocket message from the peer. Throws nothing: bad frames are handled inside. */
  handleBinary(data: Buffer): void;
  /** The link is gone: fail every stream with this reason and release its resources. */
  closeAll(reason: string): void;
}
