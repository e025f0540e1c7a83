import type { Duplex } from 'node:stream';

/** Why a read could not complete. */
export type ByteReaderErrorCode = 'unexpected_eof' | 'timeout' | 'stream_error';

export class ByteReaderError extends Error {
  override readonly name = 'ByteReaderError';

  constructor(
    readonly code: ByteReaderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface PendingRead {
  length: number;
  what: string;
  resolve: (bytes: Buffer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Exact-length reads over any Duplex (a net.Socket, a WebSocket stream): RFB is a sequence of
 * fixed-size fields, so the probe asks for "n bytes" and gets exactly n or a typed error.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | undefined;
  private pending: PendingRead | undefined;

  constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      this.chunks.push(bytes);
      this.buffered += bytes.length;
      this.settle();
    });
    stream.on('end', () => {
      this.ended = true;
      this.settle();
    });
    stream.on('close', () => {
      this.ended = true;
      this.settle();
    });
    stream.on('error', (error: Error) => {
      this.failure = error;
      this.settle();
    });
  }

  /** Bytes received and not yet read. */
  get available(): number {
    return this.buffered;
  }

  /** Read exactly `length` bytes; `what` names the field in error messages. */
  read(length: number, what: string, timeoutMs: number): Promise<Buffer> {
    if (this.pending !== undefined) {
      return Promise.reject(new Error('ByteReader supports one read at a time'));
    }
    if (length === 0) return Promise.resolve(Buffer.alloc(0));
    return new Promise((resolve, reject) => {
      const pending: PendingRead = { length, what, resolve, reject, timer: undefined };
      pending.timer = setTimeout(() => {
        if (this.pending !== pending) return;
        this.pending = undefined;
        reject(
          new ByteReaderError(
            'timeout',
            `timed out after ${timeoutMs} ms reading ${what} (${this.buffered}/${length} bytes)`,
          ),
        );
      }, timeoutMs);
      this.pending = pending;
      this.settle();
    });
  }

  private settle(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    if (this.buffered >= pending.length) {
      this.finish(pending);
      pending.resolve(this.take(pending.length));
      return;
    }
    if (this.failure !== undefined) {
      this.finish(pending);
      pending.reject(
        new ByteReaderError('stream_error', `stream failed: ${this.failure.message}`, {
          cause: this.failure,
        }),
      );
      return;
    }
    if (this.ended) {
      this.finish(pending);
      pending.reject(
        new ByteReaderError(
          'unexpected_eof',
          `connection closed after ${this.buffered} of ${pending.length} bytes of ${pending.what}`,
        ),
      );
    }
  }

  private finish(pending: PendingRead): void {
    clearTimeout(pending.timer);
    this.pending = undefined;
  }

  private take(length: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, length);
    const rest = all.subarray(length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
