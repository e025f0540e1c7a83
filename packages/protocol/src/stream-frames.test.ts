import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeFrames,
  decodeOpenPayload,
  decodeU32Payload,
  encodeCredit,
  encodeFrame,
  encodeOpen,
  FrameDecodeError,
  FrameDecoder,
  FrameKind,
  MAX_FRAME_PAYLOAD_BYTES,
} from './stream-frames';

describe('stream frame codec', () => {
  it('round-trips a data frame through the incremental decoder one byte at a time', () => {
    const payload = Buffer.from('RFB 003.008\n');
    const bytes = Buffer.concat([
      encodeFrame(FrameKind.data, 7, payload),
      encodeCredit(7, 262_144),
    ]);
    const decoder = new FrameDecoder();
    const frames = [];
    for (const byte of bytes) frames.push(...decoder.push(Buffer.from([byte])));
    assert.equal(frames.length, 2);
    assert.equal(frames[0]?.kind, FrameKind.data);
    assert.equal(frames[0]?.streamId, 7);
    assert.deepEqual(frames[0]?.payload, payload);
    assert.equal(frames[1] && decodeU32Payload(frames[1]), 262_144);
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('carries the open payload and rejects a malformed one', () => {
    const sessionId = '7d3f2c4e-9a51-4b8e-8f00-2b1c3d4e5f60';
    const [open] = decodeFrames(encodeOpen(1, { sessionId, port: 5900, credit: 1024 }));
    assert.ok(open);
    assert.deepEqual(decodeOpenPayload(open), { sessionId, port: 5900, credit: 1024 });
    const [bad] = decodeFrames(encodeFrame(FrameKind.open, 1, Buffer.from('{"port":"x"}')));
    assert.ok(bad);
    assert.equal(decodeOpenPayload(bad), null);
  });

  it('refuses unknown kinds, oversized lengths and truncated messages', () => {
    const unknown = encodeFrame(FrameKind.data, 1, Buffer.from('x'));
    unknown.writeUInt8(99, 0);
    assert.throws(() => decodeFrames(unknown), FrameDecodeError);
    const huge = encodeFrame(FrameKind.data, 1);
    huge.writeUInt32BE(MAX_FRAME_PAYLOAD_BYTES + 1, 5);
    assert.throws(() => decodeFrames(huge), /exceeds/);
    assert.throws(
      () => decodeFrames(encodeFrame(FrameKind.data, 1, Buffer.alloc(10)).subarray(0, 12)),
      /truncated/,
    );
    assert.throws(
      () => encodeFrame(FrameKind.data, 1, Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES + 1)),
      RangeError,
    );
  });
});
