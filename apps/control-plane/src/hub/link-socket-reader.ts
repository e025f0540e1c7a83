import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { canReadIntoProvidedBuffers, readIntoProvidedBuffers } from '@streamspace/stream-mux';
import { createLinkSlabPool, type LinkSlabPool } from './link-slab-pool';

/** Most bytes one read may return (Node reads at most 64 KiB by default). */
const MAX_READ_BYTES = 256 * 1024;
/** A slab with less room than this left is retired before the next read, in bytes. */
const MIN_READ_BYTES = 16 * 1024;
/** Longest WebSocket frame header: 2 + 8 (64-bit length) + 4 (mask), in bytes. */
const MAX_HEADER_BYTES = 14;
/** Longest frame aligned in a slab when ws sets no maxPayload, in bytes. */
const UNLIMITED_ALIGN_BYTES = 64 * 1024 * 1024;
const OPCODE_BINARY = 0x2;

/** The slab pool of each link read by this module, for the link's sending side (credit). */
const pools = new WeakMap<WebSocket, LinkSlabPool>();

/** The slab pool of a link whose socket readLinkIntoSlabs took over, if it did. */
export function linkSlabPoolOf(ws: WebSocket): LinkSlabPool | undefined {
  return pools.get(ws);
}

/** What this module uses of ws's (private) receiver: a Writable fed with the socket's bytes. */
interface WsReceiver {
  write(chunk: Buffer): boolean;
  _allowSynchronousEvents?: boolean;
  _maxPayload?: number;
  writable?: boolean;
  destroyed?: boolean;
}

/**
 * Read an agent link's socket into large slabs and hand ws's receiver whole frames only.
 *
 * Why: with Node's ordinary reads every read (≤ 64 KiB) is a new ArrayBuffer, and ws's
 * receiver copies each message that spans reads into yet another new buffer before it is
 * decoded: two allocations and one copy per byte carried, paid again by the collector.
 * Here reads land back to back in a slab (Node's `onread` mode with a fresh view per read,
 * at most MAX_READ_BYTES each); a frame that would not fit moves with the bytes it has so
 * far into the next slab; and the receiver is given spans of whole frames, so it takes
 * views of them (`Receiver#consume` copies only when a frame spans chunks) and unmasks in
 * place. The stream mux then decodes views and viewers are sent views.
 *
 * ws still does everything else exactly as before: header checks (masking required, RSV
 * bits, opcodes, control frame rules), maxPayload, UTF-8, ping/pong, the close handshake.
 * Frames other than unfragmented binary ones (text, control, fragments) are copied before
 * ws sees them, and a frame longer than ws's maxPayload is handed over as it arrives
 * (copied; ws refuses it at its header with 1009).
 *
 * A slab is written again only once no view into it can be in use (link-slab-pool.ts): the
 * caller passes every binary message to the pool's `inbound` before decoding it, and the
 * link's sender (ws-binary-link.ts) every message it sends to `outbound`.
 *
 * Returns the link's slab pool, or undefined, changing nothing, unless the socket is a plain
 * TCP socket, the link has no extensions and ws's receiver emits its events synchronously
 * (its default).
 */
export function readLinkIntoSlabs(ws: WebSocket, socket: Duplex): LinkSlabPool | undefined {
  const receiver = (ws as unknown as { _receiver?: WsReceiver })._receiver;
  if (
    receiver === undefined ||
    receiver._allowSynchronousEvents !== true ||
    ws.extensions !== '' ||
    !canReadIntoProvidedBuffers(socket)
  ) {
    return undefined;
  }
  const maxPayload = receiver._maxPayload ?? 0;
  const alignLimit = maxPayload > 0 ? maxPayload + MAX_HEADER_BYTES : UNLIMITED_ALIGN_BYTES;

  const pool = createLinkSlabPool();
  let slab = pool.take(0);
  /** First byte not yet handed to the receiver: the start of an incomplete frame. */
  let start = 0;
  /** End of the bytes read into the slab. */
  let end = 0;
  /** Bytes of an over-long frame still to be passed straight through. */
  let passThrough = 0;

  function feed(chunk: Buffer): void {
    if (chunk.length === 0 || receiver?.writable === false || receiver?.destroyed === true) return;
    receiver?.write(chunk);
  }

  /** Move the bytes from `start` on to a new slab with room for at least `needed` bytes. */
  function moveToNewSlab(needed: number): void {
    const next = pool.take(needed);
    slab.copy(next, 0, start, end);
    pool.retire(slab);
    end -= start;
    start = 0;
    slab = next;
  }

  /** Hand every whole frame read so far to the receiver. */
  function consume(): void {
    let at = start;
    let spanStart = start;
    while (end > at) {
      if (passThrough > 0) {
        const count = Math.min(passThrough, end - at);
        // Copied: ws holds on to the bytes of a frame it has not finished.
        feed(Buffer.from(slab.subarray(at, at + count)));
        passThrough -= count;
        at += count;
        spanStart = at;
        continue;
      }
      const frame = frameAt(slab, at, end);
      if (frame === undefined) break; // the header is incomplete
      if (frame.bytes > alignLimit) {
        feed(slab.subarray(spanStart, at));
        spanStart = at;
        passThrough = frame.bytes;
        continue;
      }
      const frameEnd = at + frame.bytes;
      if (frameEnd > end) {
        if (frameEnd > slab.length) {
          feed(slab.subarray(spanStart, at));
          start = at;
          moveToNewSlab(frame.bytes);
          return;
        }
        break;
      }
      if (!frame.wholeBinary) {
        feed(slab.subarray(spanStart, at));
        feed(Buffer.from(slab.subarray(at, frameEnd)));
        spanStart = frameEnd;
      }
      at = frameEnd;
    }
    feed(slab.subarray(spanStart, at));
    start = at;
  }

  function nextReadBuffer(): Buffer {
    if (slab.length - end < MIN_READ_BYTES) moveToNewSlab(end - start + MIN_READ_BYTES);
    return slab.subarray(end, Math.min(slab.length, end + MAX_READ_BYTES));
  }

  // Reads in `onread` mode bypass 'data' events, so ws's listener would only see what the
  // socket already holds (the upgrade's head, unshifted by ws): take it over here instead.
  for (const listener of socket.listeners('data')) {
    socket.removeListener('data', listener as (...args: unknown[]) => void);
  }
  readIntoProvidedBuffers(socket, {
    buffered(chunk) {
      if (slab.length - end < chunk.length) moveToNewSlab(end - start + chunk.length);
      chunk.copy(slab, end);
      end += chunk.length;
    },
    nextBuffer: nextReadBuffer,
    read(bytes) {
      end += bytes;
      consume();
    },
  });
  // Later, as ws itself would: the caller adds its 'message' listener after this returns.
  if (end > 0) process.nextTick(consume);
  pools.set(ws, pool);
  return pool;
}

interface FrameExtent {
  /** Header plus payload, in bytes. */
  bytes: number;
  /** FIN set and opcode binary: the only frames ws is given as views of a slab. */
  wholeBinary: boolean;
}

/**
 * The extent of the WebSocket frame at `at` (RFC 6455 §5.2), or undefined while its header
 * is incomplete. Only lengths are read here; ws validates the header itself.
 */
function frameAt(buffer: Buffer, at: number, end: number): FrameExtent | undefined {
  if (end - at < 2) return undefined;
  const first = buffer[at] as number;
  const second = buffer[at + 1] as number;
  const length7 = second & 0x7f;
  const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  const headerBytes = 2 + lengthBytes + ((second & 0x80) !== 0 ? 4 : 0);
  if (end - at < headerBytes) return undefined;
  let payload = length7;
  if (length7 === 126) payload = buffer.readUInt16BE(at + 2);
  else if (length7 === 127)
    payload = buffer.readUInt32BE(at + 2) * 2 ** 32 + buffer.readUInt32BE(at + 6);
  return {
    bytes: headerBytes + payload,
    wholeBinary: (first & 0x80) !== 0 && (first & 0x0f) === OPCODE_BINARY,
  };
}
