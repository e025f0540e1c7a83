import {
  FRAME_HEADER_BYTES,
  FrameKind,
  encodeClose,
  encodeFrameHeader,
  type BinaryLink,
} from '@streamspace/protocol';
import type { ByteQueue } from './byte-queue';
import type { StreamPort } from './stream-port';

/** A link that can send one message assembled from several parts without a concat first. */
export interface PartsLink {
  /**
   * Send `parts` (`bytes` in total) as one binary message. The parts are copied (or written)
   * before this returns, so the caller may reuse their memory right away.
   */
  sendParts?(parts: readonly Buffer[], bytes: number): void;
}

/**
 * Above this many bytes queued on the link's socket, stop writing and wait for onWritable;
 * streams then wait in their own (bounded) queues and are served round-robin (TARGETS.md).
 */
export const LINK_HIGH_WATER_BYTES = 1024 * 1024;
/**
 * Largest DATA frame one stream gets per round-robin turn, in bytes (also capped by its
 * credit, so by the window). Profiles showed the control plane's time going to one writev
 * per frame towards viewers, so frames are as large as fairness allows.
 */
const QUANTUM_BYTES = 256 * 1024;
/** Frames are batched into one WebSocket message up to about this size, in bytes. */
export const BATCH_BYTES = 256 * 1024;

/** What the scheduler needs of a stream. */
export interface ScheduledStream {
  id: number;
  phase: 'opening' | 'open' | 'closing' | 'gone';
  port: StreamPort | undefined;
  queue: ByteQueue;
  /** DATA bytes we may still send (granted by the peer). */
  sendCredit: number;
  sourcePaused: boolean;
  closeReason: string | undefined;
}

export interface LinkSchedulerOptions {
  link: BinaryLink;
  /** A paused source resumes once its queue is at most this many bytes. */
  resumeAt: number;
  onBytesSent?: (bytes: number) => void;
  /** A closing stream's last bytes and its CLOSE went out. */
  onClosed: (stream: ScheduledStream) => void;
}

export type LinkScheduler = ReturnType<typeof createLinkScheduler>;

/**
 * Writes one link's frames: control frames as soon as possible, DATA round-robin across the
 * streams that have bytes and credit, batched into messages of about BATCH_BYTES, and only
 * while the link's own buffer is below LINK_HIGH_WATER_BYTES. Never pauses a stream's source
 * for another stream's sake.
 */
export function createLinkScheduler({
  link,
  resumeAt,
  onBytesSent,
  onClosed,
}: LinkSchedulerOptions) {
  /** Streams with queued bytes or a pending CLOSE; insertion order is the round-robin order. */
  const pending = new Set<ScheduledStream>();
  let control: Buffer[] = [];
  let flushScheduled = false;
  let waitingForLink = false;
  let stopped = false;
  const toResume: ScheduledStream[] = [];

  // Queued DATA comes out of the streams' queues as views that are only valid until the next
  // push, so every message is copied (or masked into a slab) before sendParts returns.
  const partsLink = link as BinaryLink & PartsLink;

  link.onWritable(() => {
    if (waitingForLink) schedule();
  });

  function schedule(): void {
    if (flushScheduled || stopped) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function sendParts(parts: Buffer[], bytes: number): void {
    if (partsLink.sendParts !== undefined) return partsLink.sendParts(parts, bytes);
    link.send(Buffer.concat(parts, bytes));
  }

  function flush(): void {
    flushScheduled = false;
    if (stopped) return;
    let parts = control;
    let bytes = parts.reduce((sum, part) => sum + part.length, 0);
    control = [];
    waitingForLink = link.bufferedBytes() > LINK_HIGH_WATER_BYTES;
    while (!waitingForLink && pending.size > 0) {
      let progressed = false;
      for (const stream of [...pending]) {
        if (stream.queue.length > 0 && stream.sendCredit > 0) {
          const count = Math.min(stream.queue.length, stream.sendCredit, QUANTUM_BYTES);
          parts.push(encodeFrameHeader(FrameKind.data, stream.id, count));
          parts.push(...stream.queue.take(count));
          bytes += FRAME_HEADER_BYTES + count;
          stream.sendCredit -= count;
          onBytesSent?.(count);
          progressed = true;
          if (stream.sourcePaused && stream.queue.length <= resumeAt) {
            stream.sourcePaused = false;
            toResume.push(stream);
          }
        }
        pending.delete(stream);
        if (stream.queue.length > 0) {
          pending.add(stream); // to the back of the round-robin order
        } else if (stream.phase === 'closing') {
          const close = encodeClose(stream.id, stream.closeReason ?? '');
          parts.push(close);
          bytes += close.length;
          onClosed(stream);
        }
        if (bytes >= BATCH_BYTES) {
          sendParts(parts, bytes);
          parts = [];
          bytes = 0;
          resumeSources();
          if (link.bufferedBytes() > LINK_HIGH_WATER_BYTES) {
            waitingForLink = true;
            break;
          }
        }
      }
      if (!progressed) break; // what is left waits for credit
    }
    if (parts.length > 0) sendParts(parts, bytes);
    resumeSources();
  }

  /**
   * Resume paused sources only once the views taken from their queues have been copied into
   * a sent message: a resumed source may push synchronously (a Duplex's held write callback),
   * and a push may reuse the queue's memory those views point into.
   */
  function resumeSources(): void {
    for (const stream of toResume.splice(0)) {
      if (stream.phase === 'open' && !stream.sourcePaused) stream.port?.resume();
    }
  }

  return {
    /** Queue a control frame (CREDIT, OPEN, ERROR…); sent on the next flush. */
    sendControl(frame: Buffer): void {
      control.push(frame);
      schedule();
    },
    /** The stream has bytes or a CLOSE to send. */
    enqueue(stream: ScheduledStream): void {
      pending.add(stream);
      if (stream.sendCredit > 0 || stream.queue.length === 0) schedule();
    },
    /** Credit arrived, or anything else that may let queued bytes move. */
    schedule,
    forget(stream: ScheduledStream): void {
      pending.delete(stream);
    },
    /** The link is gone: drop everything. */
    stop(): void {
      stopped = true;
      control = [];
      pending.clear();
    },
  };
}
