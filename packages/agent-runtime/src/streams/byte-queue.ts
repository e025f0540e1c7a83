/**
 * A FIFO of byte chunks that hands out exact byte counts without copying: `take(n)` returns
 * subarrays of the queued chunks. Used for a stream's outbound bytes waiting for credit or
 * for room on the shared link.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private bytes = 0;

  get length(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Remove and return exactly `count` bytes (or everything, if fewer are queued). */
  take(count: number): Buffer[] {
    const out: Buffer[] = [];
    let wanted = Math.min(count, this.bytes);
    while (wanted > 0) {
      const first = this.chunks[this.head] as Buffer;
      if (first.length <= wanted) {
        out.push(first);
        wanted -= first.length;
        this.bytes -= first.length;
        this.chunks[this.head] = EMPTY;
        this.head += 1;
      } else {
        out.push(first.subarray(0, wanted));
        this.chunks[this.head] = first.subarray(wanted);
        this.bytes -= wanted;
        wanted = 0;
      }
    }
    // Compact now and then so the array does not grow with every chunk ever queued.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
  }
}

const EMPTY = Buffer.alloc(0);
