import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

type MaskFn = (
  source: Buffer,
  mask: Buffer,
  output: Buffer,
  offset: number,
  length: number,
) => void;

/** bufferutil's native mask when it loads (ws uses it too); a plain loop otherwise. */
const maskInto: MaskFn = (() => {
  try {
    const native = createRequire(import.meta.url)('bufferutil') as { mask: MaskFn };
    return native.mask;
  } catch {
    return (source, mask, output, offset, length) => {
      for (let i = 0; i < length; i++)
        output[offset + i] = (source[i] as number) ^ (mask[i & 3] as number);
    };
  }
})();

/** Largest header of a masked client frame: 2 + 8 (64-bit length) + 4 (mask), RFC 6455 §5.2. */
const MAX_HEADER_BYTES = 14;
/** Size of one slab messages are built in, in bytes; bigger messages get a slab of their own. */
const SLAB_BYTES = 1024 * 1024;
/** Free slabs kept for reuse per link (each SLAB_BYTES). */
const MAX_FREE_SLABS = 4;
/** Masks are drawn from a pool refilled with this many random bytes at a time. */
const RANDOM_POOL_BYTES = 8 * 1024;

interface Slab {
  buffer: Buffer;
  /** Next free byte. */
  used: number;
  /** Messages built in this slab and not yet written to the kernel. */
  pending: number;
  /** No longer the slab new messages go into. */
  retired: boolean;
  pooled: boolean;
}

/**
 * Writes masked WebSocket binary messages (RFC 6455 §5.3, client → server) straight to the
 * socket, built from parts in reused slabs: each part is masked while it is copied in, so a
 * message costs one pass over its bytes and no allocation. `ws`'s own `send()` masks into a
 * new buffer per message, and with 256 KiB messages those buffers (alive until the kernel
 * took them) were the agent's largest source of garbage-collector work.
 *
 * A slab is handed out in consecutive regions, one per message, and returns to the free
 * list once every message in it has been written; memory is bounded by the bytes queued on
 * the socket (which the scheduler bounds) plus one slab.
 */
export function createMaskedFrameWriter(socket: Socket) {
  const free: Slab[] = [];
  let current: Slab | undefined;
  let randomPool = Buffer.alloc(0);
  let randomAt = 0;
  // The mask rotated by 0–3 bytes: part k of a message starts at payload offset p and is
  // masked with the key rotated by p mod 4.
  const rotations = [0, 1, 2, 3].map(() => Buffer.alloc(4));

  function slabFor(bytes: number): Slab {
    // Everything written from it already: start over at its beginning (stays in cache).
    if (current !== undefined && current.pending === 0) current.used = 0;
    if (current !== undefined && current.buffer.length - current.used >= bytes) return current;
    if (current !== undefined) retire(current);
    if (bytes > SLAB_BYTES) {
      current = {
        buffer: Buffer.allocUnsafe(bytes),
        used: 0,
        pending: 0,
        retired: false,
        pooled: false,
      };
    } else {
      current = free.pop() ?? {
        buffer: Buffer.allocUnsafe(SLAB_BYTES),
        used: 0,
        pending: 0,
        retired: false,
        pooled: true,
      };
      current.retired = false;
      current.used = 0;
    }
    return current;
  }

  function retire(slab: Slab): void {
    slab.retired = true;
    if (slab.pending === 0) release(slab);
  }

  function release(slab: Slab): void {
    if (slab.pooled && free.length < MAX_FREE_SLABS) free.push(slab);
  }

  function nextMask(): void {
    if (randomAt + 4 > randomPool.length) {
      if (randomPool.length === 0) randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
      randomFillSync(randomPool);
      randomAt = 0;
    }
    for (let r = 0; r < 4; r++) {
      const rotated = rotations[r] as Buffer;
      for (let i = 0; i < 4; i++) rotated[i] = randomPool[randomAt + ((r + i) & 3)] as number;
    }
    randomAt += 4;
  }

  return {
    /** Send `parts` (`bytes` in total) as one masked binary message. Parts may be reused after. */
    write(parts: readonly Buffer[], bytes: number): void {
      const headerBytes = bytes < 126 ? 6 : bytes < 65_536 ? 8 : MAX_HEADER_BYTES;
      const slab = slabFor(headerBytes + bytes);
      const buffer = slab.buffer;
      const start = slab.used;
      nextMask();
      buffer[start] = 0x82; // FIN + binary
      let at = start + 2;
      if (headerBytes === 6) {
        buffer[start + 1] = 0x80 | bytes;
      } else if (headerBytes === 8) {
        buffer[start + 1] = 0x80 | 126;
        buffer.writeUInt16BE(bytes, at);
        at += 2;
      } else {
        buffer[start + 1] = 0x80 | 127;
        buffer.writeUInt32BE(0, at);
        buffer.writeUInt32BE(bytes, at + 4);
        at += 8;
      }
      (rotations[0] as Buffer).copy(buffer, at);
      at += 4;
      let payloadOffset = 0;
      for (const part of parts) {
        maskInto(part, rotations[payloadOffset & 3] as Buffer, buffer, at, part.length);
        at += part.length;
        payloadOffset += part.length;
      }
      slab.used = at;
      slab.pending += 1;
      socket.write(buffer.subarray(start, at), () => {
        slab.pending -= 1;
        if (slab.retired && slab.pending === 0) release(slab);
      });
    },
  };
}
