import { FRAME_HEADER_BYTES, FrameKind, MAX_FRAME_PAYLOAD_BYTES } from '@streamspace/protocol';

/** Standard size of a read slab, in bytes (a frame longer than this gets a slab of its own). */
export const LINK_SLAB_BYTES = 1024 * 1024;
/** Free slabs kept for reuse per link. */
const MAX_FREE_SLABS = 2;
/** Retired slabs waiting for their DATA to be flushed; past this the oldest is left to the GC. */
const MAX_WAITING_SLABS = 8;
/** Streams tracked per link before the pool forgets everything (and reuses nothing waiting). */
const MAX_TRACKED_STREAMS = 4096;

interface SlabRecord {
  slab: Buffer;
  /** Per stream: its cumulative DATA byte count at the end of its last payload in this slab. */
  ends: Map<number, number>;
}

/**
 * The read slabs of one agent link (link-socket-reader.ts), written again only once nothing
 * can still point into them.
 *
 * What may point into a slab after the reader has moved on: only DATA payloads, which the
 * stream mux hands to a StreamPort (a viewer's WebSocket) and which wait in that socket's
 * queue until the kernel takes them. Everything else ws is given as a copy, and decoded
 * control frames are consumed at once. The mux grants the agent credit for a stream only
 * from the port's flush callback, in order, so once the credit this side has sent for a
 * stream adds up to the stream's byte count at the end of its last payload in a slab, that
 * stream holds nothing in the slab any more (StreamPort contract: a chunk is not used after
 * its onFlushed). The pool counts both: `inbound` sees every binary message before the mux
 * does, `outbound` every message the mux sends (CREDIT frames).
 *
 * Whatever is uncertain is never reused: a slab whose streams closed before their credit
 * came back, a stream id opened again, a message that does not decode. Such slabs are
 * dropped from the pool and freed by the collector once their last view is gone, as every
 * slab was before this pool.
 */
export function createLinkSlabPool() {
  const free: Buffer[] = [];
  /** Slabs in use or retired and waiting, by their memory. */
  const records = new Map<ArrayBufferLike, SlabRecord>();
  let waiting: SlabRecord[] = [];
  /** Cumulative DATA payload bytes received per stream. */
  const received = new Map<number, number>();
  /** Cumulative credit this side granted per stream (bytes its consumer has taken). */
  const credited = new Map<number, number>();
  let reused = 0;

  function drained(record: SlabRecord): boolean {
    for (const [streamId, end] of record.ends) {
      if ((credited.get(streamId) ?? 0) < end) return false;
    }
    return true;
  }

  function release(record: SlabRecord): void {
    records.delete(record.slab.buffer);
    if (record.slab.length === LINK_SLAB_BYTES && free.length < MAX_FREE_SLABS) {
      free.push(record.slab);
    }
  }

  /** Stop tracking a slab without reusing it (the collector frees it). */
  function abandon(record: SlabRecord): void {
    records.delete(record.slab.buffer);
    waiting = waiting.filter((other) => other !== record);
  }

  function releaseDrained(): void {
    if (waiting.length === 0) return;
    const still: SlabRecord[] = [];
    for (const record of waiting) {
      if (drained(record)) release(record);
      else still.push(record);
    }
    waiting = still;
  }

  /** A stream id starts over (OPEN) or is gone: its slabs can no longer be proven drained. */
  function forgetStream(streamId: number): void {
    received.delete(streamId);
    credited.delete(streamId);
    for (const record of [...records.values()]) {
      if (record.ends.has(streamId)) {
        if (waiting.includes(record)) abandon(record);
        else record.ends.set(streamId, Number.POSITIVE_INFINITY);
      }
    }
  }

  function forgetEverything(): void {
    for (const record of [...waiting]) abandon(record);
    for (const record of records.values()) {
      for (const streamId of record.ends.keys()) {
        record.ends.set(streamId, Number.POSITIVE_INFINITY);
      }
    }
    received.clear();
    credited.clear();
  }

  return {
    /** A slab with room for at least `bytes`: a drained one when the standard size will do. */
    take(bytes: number): Buffer {
      const reusable = bytes <= LINK_SLAB_BYTES ? free.pop() : undefined;
      if (reusable !== undefined) reused += 1;
      const slab = reusable ?? Buffer.allocUnsafeSlow(Math.max(LINK_SLAB_BYTES, bytes));
      records.set(slab.buffer, { slab, ends: new Map() });
      return slab;
    },

    /** The reader has moved past `slab`: no new view of it will be made. */
    retire(slab: Buffer): void {
      const record = records.get(slab.buffer);
      if (record === undefined) return;
      if (drained(record)) {
        release(record);
        return;
      }
      waiting.push(record);
      if (waiting.length > MAX_WAITING_SLABS) abandon(waiting[0] as SlabRecord);
    },

    /** A whole binary link message, before the stream endpoint sees it. */
    inbound(message: Buffer): void {
      const record = records.get(message.buffer);
      const complete = eachFrame(message, (kind, streamId, payloadBytes) => {
        if (kind === FrameKind.data) {
          const total = (received.get(streamId) ?? 0) + payloadBytes;
          received.set(streamId, total);
          record?.ends.set(streamId, total);
        } else if (kind === FrameKind.close || kind === FrameKind.error) {
          forgetStream(streamId);
        }
      });
      // The mux drops an undecodable message whole; counting part of it only delays reuse.
      if (!complete && record !== undefined) {
        for (const streamId of record.ends.keys()) {
          record.ends.set(streamId, Number.POSITIVE_INFINITY);
        }
      }
      if (received.size > MAX_TRACKED_STREAMS) forgetEverything();
    },

    /** A binary message this side sends on the link: CREDIT frames say bytes were flushed. */
    outbound(message: Buffer): void {
      eachFrame(message, (kind, streamId, payloadBytes, at) => {
        if (kind === FrameKind.credit && payloadBytes === 4) {
          const total = (credited.get(streamId) ?? 0) + message.readUInt32BE(at);
          credited.set(streamId, total);
        } else if (
          kind === FrameKind.open ||
          kind === FrameKind.close ||
          kind === FrameKind.error
        ) {
          forgetStream(streamId);
        }
      });
      if (credited.size > MAX_TRACKED_STREAMS) forgetEverything();
      releaseDrained();
    },

    stats: () => ({
      free: free.length,
      waiting: waiting.length,
      reused,
      trackedStreams: received.size,
    }),
  };
}

export type LinkSlabPool = ReturnType<typeof createLinkSlabPool>;

/**
 * Walk the stream frames of one link message (stream-frames.ts layout). `visit` gets each
 * frame's kind, stream id, payload length and payload offset. Returns false when the message
 * does not decode to whole frames (the mux drops such a message).
 */
function eachFrame(
  message: Buffer,
  visit: (kind: number, streamId: number, payloadBytes: number, at: number) => void,
): boolean {
  let at = 0;
  while (message.length - at >= FRAME_HEADER_BYTES) {
    const kind = message[at] as number;
    const streamId = message.readUInt32BE(at + 1);
    const payloadBytes = message.readUInt32BE(at + 5);
    if (kind < FrameKind.open || kind > FrameKind.error || payloadBytes > MAX_FRAME_PAYLOAD_BYTES)
      return false;
    const payloadAt = at + FRAME_HEADER_BYTES;
    if (message.length - payloadAt < payloadBytes) return false;
    visit(kind, streamId, payloadBytes, payloadAt);
    at = payloadAt + payloadBytes;
  }
  return at === message.length;
}
