import type { StreamError } from '@streamspace/protocol';

/**
 * The local end of one multiplexed stream: the session's TCP socket on the agent, the
 * viewer's WebSocket on the control plane. The mux writes the peer's bytes into it and
 * pauses/resumes it as credit and link space allow.
 */
export interface StreamPort {
  /**
   * Deliver bytes from the peer. Call `onFlushed` once the consumer has taken them (the
   * socket's write callback): that is when the mux grants the peer more credit.
   *
   * `chunk` may be a view into a read buffer that is written again once the credit for it
   * has gone back (the control plane's link-slab-pool.ts): keep it no longer than until
   * `onFlushed` is called, and never call `onFlushed` before the bytes have left (a copy is
   * fine), or another stream's bytes could take their place.
   */
  write(chunk: Buffer, onFlushed: () => void): void;
  /** Stop reading from the local source: this stream's credit or queue is spent. */
  pause(): void;
  resume(): void;
  /** The stream is over from the mux's side (the peer closed or failed, or the link went). */
  terminate(end: StreamEnd): void;
}

/** Why a stream ended, as the local end is told. */
export type StreamEnd =
  | { kind: 'peer_closed'; reason: string }
  | { kind: 'peer_error'; code: StreamError['code']; message: string }
  | { kind: 'protocol_error'; code: StreamError['code']; message: string }
  | { kind: 'link_closed'; reason: string };

/** What the mux hands to the code that owns a stream's local end. */
export interface MuxStream {
  readonly id: number;
  /**
   * Bytes from the local source for the peer; copied before this returns, so the caller may
   * reuse the buffer. The mux pauses the port when its queue fills.
   */
  push(chunk: Buffer): void;
  /** The local end finished: send what is queued, then CLOSE. Idempotent. */
  end(reason?: string): void;
  /** Bytes waiting for credit or link space (never more than the stream's window). */
  queuedBytes(): number;
  /**
   * For a source that reads into memory it is given (a TCP socket in Node's `onread` mode),
   * instead of `push`: the free region at the tail of the stream's send queue that the next
   * read may fill, so the bytes are not copied again. Each call takes back the region the
   * previous call returned, and the mux keeps the returned region in place and untouched
   * until then, however long the source stays paused. Undefined once the stream is no
   * longer open: read into memory of your own and drop the bytes. Do not call `push` after
   * the first call. Optional: ends that are not this mux (e.g. replica routing) lack it.
   */
  readTarget?(): Buffer | undefined;
  /**
   * The read into the region of the last `readTarget()` put `bytes` bytes at its start:
   * queue them as `push` would (pausing the source at half a window). Ignored once the
   * stream is no longer open.
   */
  commitRead?(bytes: number): void;
}

/** Error codes of a failed open, as the opener sees them. */
export type StreamOpenErrorCode =
  StreamError['code'] | 'open_timeout' | 'link_closed' | 'too_many_streams';

/** A stream that could not be opened; `code` is stable, branch on it. */
export class StreamOpenError extends Error {
  override readonly name = 'StreamOpenError';

  constructor(
    readonly code: StreamOpenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Counters and gauges the mux reports into (Prometheus on the control plane, logs on agents). */
export interface StreamMuxHooks {
  streamOpened?(): void;
  streamClosed?(): void;
  /** DATA payload bytes sent to the peer. */
  bytesSent?(bytes: number): void;
  /** DATA payload bytes received from the peer. */
  bytesReceived?(bytes: number): void;
  /** A refused frame or undecodable message, by kind (e.g. `stream_id_unknown`, `undecodable`). */
  protocolError?(kind: string): void;
}
