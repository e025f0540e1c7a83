import { z } from 'zod';
import { Uuid } from './domain';

/**
 * Binary stream frames on the agent link. Layout (big-endian):
 *
 *   offset 0  u8   kind
 *   offset 1  u32  stream id (chosen by the control plane, which opens every stream)
 *   offset 5  u32  payload length in bytes
 *   offset 9  ...  payload
 *
 * One WebSocket binary message carries one or more whole frames; the length prefix lets the
 * same codec run over any byte stream. Payload bytes are raw: never base64, never JSON,
 * except the small OPEN and ERROR payloads below.
 */
export const FRAME_HEADER_BYTES = 9;

/** Largest payload of one frame, in bytes. Larger data is split into several DATA frames. */
export const MAX_FRAME_PAYLOAD_BYTES = 1024 * 1024;

/** Default per-stream credit window in bytes (TARGETS.md: ~256 KiB kept fairness high). */
export const DEFAULT_STREAM_WINDOW_BYTES = 256 * 1024;

export const FrameKind = {
  /** control plane → agent: open a TCP stream to a session port. Payload: StreamOpen JSON. */
  open: 1,
  /** agent → control plane: the TCP connection is up. Payload: u32 credit for the opener. */
  openOk: 2,
  /** either way: raw bytes; consumes the sender's credit. */
  data: 3,
  /** either way: u32 more bytes the peer may send on this stream. */
  credit: 4,
  /** either way: the stream is finished. Payload: UTF-8 reason (may be empty). */
  close: 5,
  /** either way: the stream failed. Payload: StreamError JSON. The stream is gone. */
  error: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];
const FRAME_KINDS = new Set<number>(Object.values(FrameKind));

export interface StreamFrame {
  kind: FrameKind;
  streamId: number;
  payload: Buffer;
}

export const StreamOpen = z.object({
  sessionId: Uuid,
  port: z.int().min(1).max(65_535),
  /** Bytes the agent may send before the control plane grants more. */
  credit: z
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
});
export type StreamOpen = z.infer<typeof StreamOpen>;

export const StreamError = z.object({
  code: z.enum([
    'session_not_found',
    'connect_failed',
    'stream_id_unknown',
    'stream_id_in_use',
    'credit_exceeded',
    'invalid_frame',
    'agent_shutting_down',
    // Added with the stream mux: the agent refuses an OPEN beyond its per-link stream limit.
    'too_many_streams',
  ]),
  message: z.string().max(1024),
});
export type StreamError = z.infer<typeof StreamError>;

export function encodeFrame(kind: FrameKind, streamId: number, payload: Buffer = EMPTY): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new RangeError(
      `frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  writeHeader(frame, kind, streamId, payload.length);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** Header alone, for callers that send header and payload without copying the payload. */
export function encodeFrameHeader(
  kind: FrameKind,
  streamId: number,
  payloadLength: number,
): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeHeader(header, kind, streamId, payloadLength);
  return header;
}

export function encodeCredit(streamId: number, bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(bytes, 0);
  return encodeFrame(FrameKind.credit, streamId, payload);
}

export function encodeOpen(streamId: number, open: StreamOpen): Buffer {
  return encodeFrame(FrameKind.open, streamId, Buffer.from(JSON.stringify(open)));
}

export function encodeOpenOk(streamId: number, credit: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(credit, 0);
  return encodeFrame(FrameKind.openOk, streamId, payload);
}

export function encodeClose(streamId: number, reason = ''): Buffer {
  return encodeFrame(FrameKind.close, streamId, Buffer.from(reason.slice(0, 512)));
}

export function encodeStreamError(streamId: number, error: StreamError): Buffer {
  return encodeFrame(FrameKind.error, streamId, Buffer.from(JSON.stringify(error)));
}

export function decodeU32Payload(frame: StreamFrame): number | null {
  return frame.payload.length === 4 ? frame.payload.readUInt32BE(0) : null;
}

export function decodeOpenPayload(frame: StreamFrame): StreamOpen | null {
  return decodeJsonPayload(StreamOpen, frame.payload);
}

export function decodeStreamErrorPayload(frame: StreamFrame): StreamError | null {
  return decodeJsonPayload(StreamError, frame.payload);
}

export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

/**
 * Incremental decoder: push chunks of any size, get whole frames back. Throws
 * FrameDecodeError on an unknown kind or an oversized length, after which the byte
 * stream cannot be resynchronised and the connection must be closed.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): StreamFrame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: StreamFrame[] = [];
    while (this.pendingBytes >= FRAME_HEADER_BYTES) {
      const head = this.peek(FRAME_HEADER_BYTES);
      const kind = head.readUInt8(0);
      const streamId = head.readUInt32BE(1);
      const length = head.readUInt32BE(5);
      if (!FRAME_KINDS.has(kind)) throw new FrameDecodeError(`unknown frame kind ${kind}`);
      if (length > MAX_FRAME_PAYLOAD_BYTES) {
        throw new FrameDecodeError(
          `frame payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`,
        );
      }
      if (this.pendingBytes < FRAME_HEADER_BYTES + length) break;
      const whole = this.take(FRAME_HEADER_BYTES + length);
      frames.push({
        kind: kind as FrameKind,
        streamId,
        payload: whole.subarray(FRAME_HEADER_BYTES),
      });
    }
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private peek(bytes: number): Buffer {
    const first = this.pending[0];
    if (first !== undefined && first.length >= bytes) return first;
    this.pending = [Buffer.concat(this.pending)];
    return this.pending[0] as Buffer;
  }

  private take(bytes: number): Buffer {
    const joined = this.peek(bytes);
    const taken = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.pending = rest.length > 0 ? [rest, ...this.pending.slice(1)] : this.pending.slice(1);
    this.pendingBytes -= bytes;
    return taken;
  }
}

/** Decode one WebSocket message that must hold whole frames only. */
export function decodeFrames(message: Buffer): StreamFrame[] {
  const decoder = new FrameDecoder();
  const frames = decoder.push(message);
  if (decoder.bufferedBytes !== 0) throw new FrameDecodeError('truncated frame');
  return frames;
}

const EMPTY = Buffer.alloc(0);

function writeHeader(target: Buffer, kind: FrameKind, streamId: number, length: number): void {
  target.writeUInt8(kind, 0);
  target.writeUInt32BE(streamId >>> 0, 1);
  target.writeUInt32BE(length, 5);
}

function decodeJsonPayload<T>(schema: z.ZodType<T>, payload: Buffer): T | null {
  try {
    const result = schema.safeParse(JSON.parse(payload.toString('utf8')));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}
