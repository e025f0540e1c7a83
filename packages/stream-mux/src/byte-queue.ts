/** First size of a queue's staging buffer, in bytes; it doubles as needed. */
const INITIAL_STAGING_BYTES = 16 * 1024;

/**
 * A FIFO of bytes waiting for credit or room on the shared link, kept in one staging buffer
 * owned by the queue and used as a ring: the bytes queued are `length` bytes from `head`,
 * wrapping at the end of the buffer. Pushed chunks are copied in, so the caller's buffers (a
 * socket's read buffers) die young: holding them for a few milliseconds while a stream waits
 * for credit promoted them to V8's old generation, and freeing them then took a full
 * mark-compact. The staging buffer grows to about one window (the mux pauses the source at
 * half a window) and is then reused for the stream's life; queued bytes never move except
 * when it grows.
 *
 * A source that can read straight into memory it is given (a TCP socket in Node's `onread`
 * mode) skips the copy: `reserveTail(n)` hands it the free region after the queued bytes (up
 * to `n` bytes; fewer where the ring wraps) and `commitTail(n)` appends the first `n` bytes
 * it read there. While a region is reserved the queue never moves or reuses it, and `push`
 * is refused, because the reader may write into the region at any later read until the next
 * `reserveTail` (or `clear`) takes it back.
 *
 * `take(n)` returns views into the staging buffer (two where the bytes wrap) that are valid
 * only until the next `push` or `reserveTail`: callers copy them synchronously (the link
 * scheduler does, into the outgoing message).
 */
export class ByteQueue {
  private staging = Buffer.alloc(0);
  /** Index of the first queued byte. */
  private head = 0;
  private queued = 0;
  /** Bytes after the last queued one handed to a reader by reserveTail; 0 when none are. */
  private reserved = 0;

  /**
   * @param typicalBytes most bytes the owner expects queued plus reserved (for the mux: half
   * a window plus two reads): the staging buffer doubles up to it, then grows only as needed.
   */
  constructor(private readonly typicalBytes = Number.POSITIVE_INFINITY) {}

  get length(): number {
    return this.queued;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.reserved > 0) throw new Error('ByteQueue.push while a read region is reserved');
    this.makeRoom(chunk.length);
    const tail = this.tail();
    const first = Math.min(chunk.length, this.staging.length - tail);
    chunk.copy(this.staging, tail, 0, first);
    if (first < chunk.length) chunk.copy(this.staging, 0, first);
    this.queued += chunk.length;
  }

  /**
   * The free region right after the queued bytes, at most `bytes` long (shorter where the
   * ring wraps, never empty), for a reader to fill; it replaces any region reserved before
   * (whose reader must no longer write into it).
   */
  reserveTail(bytes: number): Buffer {
    this.reserved = 0;
    this.makeRoom(bytes);
    const tail = this.tail();
    const room = tail >= this.head ? this.staging.length - tail : this.head - tail;
    this.reserved = Math.min(bytes, room);
    return this.staging.subarray(tail, tail + this.reserved);
  }

  /** The reader wrote `bytes` (at most what was reserved) at the start of the reserved region. */
  commitTail(bytes: number): void {
    if (bytes > this.reserved) throw new RangeError('ByteQueue.commitTail beyond the reservation');
    this.queued += bytes;
    this.reserved = 0;
  }

  /** Remove and return exactly `count` bytes (or everything, if fewer are queued). */
  take(count: number): Buffer[] {
    const taken = Math.min(count, this.queued);
    if (taken === 0) return [];
    const size = this.staging.length;
    const first = Math.min(taken, size - this.head);
    const views = [this.staging.subarray(this.head, this.head + first)];
    if (first < taken) views.push(this.staging.subarray(0, taken - first));
    this.head = (this.head + taken) % size;
    this.queued -= taken;
    return views;
  }

  /** Drop everything, the staging buffer included; a reserved region is abandoned too. */
  clear(): void {
    this.staging = Buffer.alloc(0);
    this.head = this.queued = 0;
    this.reserved = 0;
  }

  /** Index just after the last queued byte. */
  private tail(): number {
    const size = this.staging.length;
    return size === 0 ? 0 : (this.head + this.queued) % size;
  }

  /** Make `incoming` bytes free in the ring; queued bytes move only when it has to grow. */
  private makeRoom(incoming: number): void {
    // Empty: start over at the beginning (stays in cache, and a read region is whole).
    if (this.queued === 0) this.head = 0;
    const needed = this.queued + incoming;
    if (needed <= this.staging.length) return;
    let size = Math.max(this.staging.length, INITIAL_STAGING_BYTES);
    while (size < needed) size *= 2;
    if (size > this.typicalBytes) size = Math.max(needed, this.typicalBytes);
    const grown = Buffer.allocUnsafe(size);
    let at = 0;
    for (const view of this.take(this.queued)) {
      view.copy(grown, at);
      at += view.length;
    }
    this.staging = grown;
    this.head = 0;
    this.queued = at;
  }
}
