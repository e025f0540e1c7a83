import type { Logger } from 'pino';
import {
  DEFAULT_STREAM_WINDOW_BYTES,
  FrameDecodeError,
  FrameKind,
  decodeFrames,
  decodeOpenPayload,
  decodeStreamErrorPayload,
  decodeU32Payload,
  encodeClose,
  encodeCredit,
  encodeOpen,
  encodeOpenOk,
  encodeStreamError,
  systemClock,
  type BinaryLink,
  type Clock,
  type ClockTimer,
  type StreamEndpoint,
  type StreamError,
  type StreamFrame,
  type StreamOpen,
} from '@streamspace/protocol';
import { ByteQueue } from './byte-queue';
import { createLinkScheduler, type ScheduledStream } from './link-scheduler';
import {
  StreamOpenError,
  type MuxStream,
  type StreamEnd,
  type StreamMuxHooks,
  type StreamPort,
} from './stream-port';

/** Default most streams one agent link carries at once. */
export const DEFAULT_MAX_STREAMS = 256;
/** Default wait for OPEN_OK before an open fails with `open_timeout`, in ms. */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
/** Closed stream ids remembered so late DATA/CREDIT for them is ignored, not refused. */
const RECENTLY_CLOSED_IDS = 4096;
/**
 * Largest region a source may read straight into a stream's queue (`MuxStream.readTarget`),
 * in bytes: twice Node's own read size, which halves the reads of a busy session socket
 * (docs/performance.md). Capped at what is left of the window above the pause point, so a
 * queue never holds more than one window.
 */
const READ_TARGET_BYTES = 128 * 1024;

export type StreamTarget = Pick<StreamOpen, 'sessionId' | 'port'>;

/** Builds the local end of an accepted or opened stream; called synchronously on open. */
export type AttachPort = (stream: MuxStream) => StreamPort;

/** An OPEN from the peer, to be accepted (with a local end) or rejected. */
export interface OpenRequest {
  streamId: number;
  target: StreamTarget;
  /** Returns null when the stream was cancelled (peer CLOSE, link gone) while connecting. */
  accept(attach: AttachPort): MuxStream | null;
  reject(error: StreamError): void;
  /** True once the peer cancelled or the link went away: drop the connection attempt. */
  cancelled(): boolean;
}

export interface StreamMuxOptions {
  /** `opener` sends OPEN (the control plane); `acceptor` answers it (the agent). */
  role: 'opener' | 'acceptor';
  logger: Logger;
  clock?: Clock;
  /** Per-stream receive window and send-queue bound, in bytes. */
  windowBytes?: number;
  maxStreams?: number;
  openTimeoutMs?: number;
  /** Acceptor only: an OPEN arrived. */
  onOpenRequest?: (request: OpenRequest) => void;
  hooks?: StreamMuxHooks;
}

export interface StreamMuxStats {
  openStreams: number;
  /** Highest bytes ever queued for one stream on the send side (bounded by the window). */
  peakQueuedBytes: number;
  /** Highest bytes ever written to one local end and not yet flushed (bounded by the window). */
  peakUnflushedBytes: number;
  /** Frames refused and messages dropped as undecodable. */
  protocolErrors: number;
}

export interface StreamMux extends StreamEndpoint {
  /** Opener only: open a stream to a session port; resolves on OPEN_OK. */
  open(target: StreamTarget, attach: AttachPort): Promise<MuxStream>;
  stats(): StreamMuxStats;
}

interface StreamState extends ScheduledStream {
  handle: MuxStream;
  /** DATA bytes the peer may still send us (granted by us). */
  receiveRemaining: number;
  /** Bytes our local end has consumed that we have not yet granted back. */
  consumedUngranted: number;
  unflushed: number;
  logger: Logger;
  opening?: {
    resolve: (stream: MuxStream) => void;
    reject: (error: StreamOpenError) => void;
    attach: AttachPort;
    timer: ClockTimer;
  };
}

/**
 * The stream multiplexer shared by both ends of an agent link: per-stream credit flow
 * control, bounded per-stream queues, round-robin scheduling when the link backs up, and
 * frame batching. Both ends run the same code; only who opens differs.
 */
export function createStreamMux(options: StreamMuxOptions & { link: BinaryLink }): StreamMux {
  const { link, role, logger, hooks = {} } = options;
  const clock = options.clock ?? systemClock;
  const window = options.windowBytes ?? DEFAULT_STREAM_WINDOW_BYTES;
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  const openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  // Pause a source at half a window so one more read (≤ 64 KiB pushed from a socket, or
  // readTargetBytes read straight into the queue) still fits in the window.
  const pauseAt = Math.floor(window / 2);
  const resumeAt = Math.floor(window / 4);
  // Grant credit back in quarter windows: few CREDIT frames, and the sender never starves.
  const grantAt = Math.max(1, Math.floor(window / 4));
  const readTargetBytes = Math.max(1, Math.min(READ_TARGET_BYTES, window - pauseAt));

  const streams = new Map<number, StreamState>();
  const recentlyClosed = new Set<number>();
  let closed = false;
  let nextId = 1;
  const stats: StreamMuxStats = {
    openStreams: 0,
    peakQueuedBytes: 0,
    peakUnflushedBytes: 0,
    protocolErrors: 0,
  };

  const scheduler = createLinkScheduler({
    link,
    resumeAt,
    onBytesSent: hooks.bytesSent,
    onClosed: (stream) => forget(stream as StreamState),
  });
  const sendControl = scheduler.sendControl;

  function refuse(streamId: number, code: StreamError['code'], message: string): void {
    stats.protocolErrors += 1;
    hooks.protocolError?.(code);
    logger.warn({ streamId, code }, 'stream frame refused');
    sendControl(encodeStreamError(streamId, { code, message }));
  }

  function forget(stream: StreamState): void {
    if (stream.phase === 'gone') return;
    const wasCounted = stream.phase !== 'opening';
    stream.phase = 'gone';
    stream.queue.clear();
    scheduler.forget(stream);
    streams.delete(stream.id);
    recentlyClosed.add(stream.id);
    if (recentlyClosed.size > RECENTLY_CLOSED_IDS) {
      recentlyClosed.delete(recentlyClosed.values().next().value as number);
    }
    if (wasCounted) {
      stats.openStreams -= 1;
      hooks.streamClosed?.();
    }
  }

  /** End a stream now from our side's view and tell the local end why. */
  function terminate(stream: StreamState, end: StreamEnd): void {
    const port = stream.port;
    const opening = stream.opening;
    forget(stream);
    if (opening !== undefined) {
      clock.clearTimeout(opening.timer);
      opening.reject(
        end.kind === 'link_closed'
          ? new StreamOpenError('link_closed', end.reason)
          : end.kind === 'peer_closed'
            ? new StreamOpenError('connect_failed', end.reason || 'closed before it opened')
            : new StreamOpenError(end.code, end.message),
      );
    }
    port?.terminate(end);
  }

  function makeState(id: number, phase: StreamState['phase']): StreamState {
    const state: StreamState = {
      id,
      phase,
      port: undefined,
      sendCredit: 0,
      receiveRemaining: 0,
      consumedUngranted: 0,
      unflushed: 0,
      queue: new ByteQueue(pauseAt + 2 * readTargetBytes),
      sourcePaused: false,
      closeReason: undefined,
      logger: logger.child({ streamId: id }),
      handle: {
        id,
        push: (chunk) => push(state, chunk),
        end: (reason) => endLocal(state, reason ?? ''),
        queuedBytes: () => state.queue.length,
        readTarget: () =>
          state.phase === 'open' ? state.queue.reserveTail(readTargetBytes) : undefined,
        commitRead: (bytes) => commitRead(state, bytes),
      },
    };
    return state;
  }

  function push(stream: StreamState, chunk: Buffer): void {
    if (stream.phase !== 'open' || chunk.length === 0) return;
    stream.queue.push(chunk);
    queued(stream);
  }

  function commitRead(stream: StreamState, bytes: number): void {
    // Closing or gone: what was read after the local end finished is dropped, as push drops it.
    if (stream.phase !== 'open' || bytes === 0) return;
    stream.queue.commitTail(bytes);
    queued(stream);
  }

  /** Bytes were added to the stream's queue: pause its source at half a window, schedule. */
  function queued(stream: StreamState): void {
    if (stream.queue.length > stats.peakQueuedBytes) stats.peakQueuedBytes = stream.queue.length;
    if (!stream.sourcePaused && stream.queue.length >= pauseAt) {
      stream.sourcePaused = true;
      stream.port?.pause();
    }
    scheduler.enqueue(stream);
  }

  function endLocal(stream: StreamState, reason: string): void {
    if (stream.phase !== 'open') return;
    stream.phase = 'closing';
    stream.closeReason = reason;
    scheduler.enqueue(stream);
  }

  function activate(stream: StreamState, attach: AttachPort): void {
    stream.phase = 'open';
    stats.openStreams += 1;
    hooks.streamOpened?.();
    stream.port = attach(stream.handle);
  }

  function deliver(stream: StreamState, payload: Buffer): void {
    if (payload.length > stream.receiveRemaining) {
      sendControl(
        encodeStreamError(stream.id, {
          code: 'credit_exceeded',
          message: `sent ${payload.length} bytes with ${stream.receiveRemaining} bytes of credit`,
        }),
      );
      stats.protocolErrors += 1;
      hooks.protocolError?.('credit_exceeded');
      stream.logger.warn({ bytes: payload.length }, 'stream credit exceeded');
      terminate(stream, {
        kind: 'protocol_error',
        code: 'credit_exceeded',
        message: 'peer exceeded its credit',
      });
      return;
    }
    stream.receiveRemaining -= payload.length;
    hooks.bytesReceived?.(payload.length);
    if (stream.phase !== 'open' || stream.port === undefined) return; // closing: dropped
    const length = payload.length;
    stream.unflushed += length;
    if (stream.unflushed > stats.peakUnflushedBytes) stats.peakUnflushedBytes = stream.unflushed;
    stream.port.write(payload, () => {
      stream.unflushed -= length;
      if (stream.phase === 'gone') return;
      stream.consumedUngranted += length;
      if (stream.consumedUngranted >= grantAt) {
        stream.receiveRemaining += stream.consumedUngranted;
        sendControl(encodeCredit(stream.id, stream.consumedUngranted));
        stream.consumedUngranted = 0;
      }
    });
  }

  function handleFrame(frame: StreamFrame): void {
    const stream = streams.get(frame.streamId);
    if (frame.kind === FrameKind.open) return handleOpen(frame, stream);
    if (stream === undefined) return handleUnknown(frame);
    switch (frame.kind) {
      case FrameKind.data:
        return deliver(stream, frame.payload);
      case FrameKind.credit: {
        const credit = decodeU32Payload(frame);
        if (credit === null || stream.phase === 'opening') {
          refuse(stream.id, 'invalid_frame', 'CREDIT needs a 4-byte payload on an open stream');
          return terminate(stream, {
            kind: 'protocol_error',
            code: 'invalid_frame',
            message: 'bad CREDIT',
          });
        }
        stream.sendCredit += credit;
        scheduler.schedule();
        return;
      }
      case FrameKind.openOk:
        return handleOpenOk(frame, stream);
      case FrameKind.close: {
        const reason = frame.payload.toString('utf8');
        return terminate(stream, { kind: 'peer_closed', reason });
      }
      case FrameKind.error: {
        const error = decodeStreamErrorPayload(frame) ?? {
          code: 'invalid_frame' as const,
          message: 'undecodable ERROR payload',
        };
        stream.logger.info({ code: error.code }, 'stream failed at peer');
        return terminate(stream, { kind: 'peer_error', code: error.code, message: error.message });
      }
    }
  }

  function handleUnknown(frame: StreamFrame): void {
    // ERROR and CLOSE for a stream we do not know need no answer (and must not get one: loops).
    if (frame.kind === FrameKind.error || frame.kind === FrameKind.close) return;
    if (recentlyClosed.has(frame.streamId)) {
      // In flight when we closed it. An OPEN_OK for an open we gave up on gets a CLOSE so the
      // peer releases its socket.
      if (frame.kind === FrameKind.openOk)
        sendControl(encodeClose(frame.streamId, 'open abandoned'));
      return;
    }
    refuse(frame.streamId, 'stream_id_unknown', `no stream ${frame.streamId} on this link`);
  }

  function handleOpen(frame: StreamFrame, existing: StreamState | undefined): void {
    if (role !== 'acceptor') {
      return refuse(frame.streamId, 'invalid_frame', 'only the control plane opens streams');
    }
    if (existing !== undefined) {
      // Both ends must agree the id is gone: drop ours too.
      terminate(existing, {
        kind: 'protocol_error',
        code: 'stream_id_in_use',
        message: 'duplicate OPEN',
      });
      return refuse(frame.streamId, 'stream_id_in_use', `stream ${frame.streamId} is already open`);
    }
    const open = decodeOpenPayload(frame);
    if (open === null) return refuse(frame.streamId, 'invalid_frame', 'OPEN payload is invalid');
    if (streams.size >= maxStreams) {
      return refuse(
        frame.streamId,
        'too_many_streams',
        `this link carries at most ${maxStreams} streams`,
      );
    }
    const stream = makeState(frame.streamId, 'opening');
    stream.sendCredit = open.credit;
    streams.set(stream.id, stream);
    recentlyClosed.delete(stream.id);
    const request: OpenRequest = {
      streamId: stream.id,
      target: { sessionId: open.sessionId, port: open.port },
      cancelled: () => stream.phase === 'gone',
      accept: (attach) => {
        if (stream.phase !== 'opening') return null;
        stream.receiveRemaining = window;
        sendControl(encodeOpenOk(stream.id, window));
        activate(stream, attach);
        return stream.handle;
      },
      reject: (error) => {
        if (stream.phase !== 'opening') return;
        forget(stream);
        sendControl(encodeStreamError(stream.id, error));
      },
    };
    if (options.onOpenRequest === undefined) {
      request.reject({ code: 'connect_failed', message: 'this end accepts no streams' });
      return;
    }
    options.onOpenRequest(request);
  }

  function handleOpenOk(frame: StreamFrame, stream: StreamState): void {
    const credit = decodeU32Payload(frame);
    const opening = stream.opening;
    if (stream.phase !== 'opening' || opening === undefined || credit === null) {
      refuse(stream.id, 'invalid_frame', 'unexpected OPEN_OK');
      return terminate(stream, {
        kind: 'protocol_error',
        code: 'invalid_frame',
        message: 'bad OPEN_OK',
      });
    }
    clock.clearTimeout(opening.timer);
    stream.opening = undefined;
    stream.sendCredit = credit;
    activate(stream, opening.attach);
    opening.resolve(stream.handle);
    if (stream.queue.length > 0) scheduler.schedule();
  }

  function allocateId(): number {
    for (;;) {
      const id = nextId;
      nextId = nextId >= 0xffff_ffff ? 1 : nextId + 1;
      if (!streams.has(id)) return id;
    }
  }

  return {
    handleBinary(data) {
      if (closed) return;
      let frames: StreamFrame[];
      try {
        frames = decodeFrames(data);
      } catch (error) {
        stats.protocolErrors += 1;
        hooks.protocolError?.('undecodable');
        logger.warn(
          {
            bytes: data.length,
            err: error instanceof FrameDecodeError ? error.message : String(error),
          },
          'undecodable stream message dropped',
        );
        return;
      }
      for (const frame of frames) handleFrame(frame);
    },

    closeAll(reason) {
      if (closed) return;
      closed = true;
      for (const stream of [...streams.values()])
        terminate(stream, { kind: 'link_closed', reason });
      scheduler.stop();
    },

    open(target, attach) {
      if (role !== 'opener')
        return Promise.reject(
          new StreamOpenError('invalid_frame', 'this end does not open streams'),
        );
      if (closed)
        return Promise.reject(new StreamOpenError('link_closed', 'the agent link is closed'));
      if (streams.size >= maxStreams) {
        return Promise.reject(
          new StreamOpenError(
            'too_many_streams',
            `this link carries at most ${maxStreams} streams`,
          ),
        );
      }
      const stream = makeState(allocateId(), 'opening');
      stream.receiveRemaining = window;
      streams.set(stream.id, stream);
      return new Promise<MuxStream>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          if (stream.phase !== 'opening') return;
          stream.opening = undefined;
          forget(stream);
          // The agent may still be connecting: the CLOSE (or our reply to a late OPEN_OK)
          // makes it release the socket.
          sendControl(encodeClose(stream.id, 'open timed out'));
          reject(new StreamOpenError('open_timeout', `no answer within ${openTimeoutMs} ms`));
        }, openTimeoutMs);
        stream.opening = { resolve, reject, attach, timer };
        sendControl(encodeOpen(stream.id, { ...target, credit: window }));
      });
    },

    stats: () => ({ ...stats }),
  };
}
