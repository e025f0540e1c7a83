/** First size of a queue's staging buffer, in bytes; it doubles as needed. */
const INITIAL_STAGING_BYTES = 16 * 1024;

/**
 * A FIFO of bytes waiting for credit or room on the shared link. Pushed chunks are copied
 * into one staging buffer owned by the queue, so the caller's buffers (a socket's read
 * buffers) die young: holding them for a few milliseconds while a stream waits for credit
 * promoted them to V8's old generation, and freeing them then took a full mark-compact.
 * The staging buffer grows to about one window (the mux pauses the source at half a window)
 * and is then reused for the stream's life.
 *
 * `take(n)` returns views into the staging buffer that are valid only until the next `push`:
 * callers copy them synchronously (the link scheduler does, into the outgoing message).
 */
export class ByteQueue {
  private staging = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.staging.length) this.makeRoom(chunk.length);
    chunk.copy(this.staging, this.end);
    this.end += chunk.length;
  }

  /** Remove and return exactly `count` bytes (or everything, if fewer are queued). */
  take(count: number): Buffer[] {
    const taken = Math.min(count, this.length);
    if (taken === 0) return [];
    const view = this.staging.subarray(this.start, this.start + taken);
    this.start += taken;
    if (this.start === this.end) this.start = this.end = 0;
    return [view];
  }

  clear(): void {
    this.staging = Buffer.alloc(0);
    this.start = this.end = 0;
  }

  private makeRoom(incoming: number): void {
    const needed = this.length + incoming;
    if (needed <= this.staging.length) {
      this.staging.copyWithin(0, this.start, this.end);
    } else {
      let size = Math.max(this.staging.length, INITIAL_STAGING_BYTES);
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.staging.copy(grown, 0, this.start, this.end);
      this.staging = grown;
    }
    this.end = this.length;
    this.start = 0;
  }
}
