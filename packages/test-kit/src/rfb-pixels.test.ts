import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePixelFormat,
  encodePixelFormat,
  RGBX_PIXEL_FORMAT,
  writePixels,
  type PixelFormat,
} from './rfb-pixels';

const RGB565_BIG_ENDIAN: PixelFormat = {
  bitsPerPixel: 16,
  depth: 16,
  bigEndian: true,
  trueColour: true,
  redMax: 31,
  greenMax: 63,
  blueMax: 31,
  redShift: 11,
  greenShift: 5,
  blueShift: 0,
};

describe('rfb-pixels', () => {
  it('round-trips PIXEL_FORMAT (RFC 6143 §7.4)', () => {
    for (const format of [RGBX_PIXEL_FORMAT, RGB565_BIG_ENDIAN]) {
      assert.deepEqual(decodePixelFormat(encodePixelFormat(format)), format);
    }
  });

  it('writes a 32 bpp RGBX rectangle at its place with opaque alpha', () => {
    const framebuffer = Buffer.alloc(3 * 2 * 4);
    const pixels = Buffer.from([10, 20, 30, 0, 40, 50, 60, 0]);
    writePixels(
      framebuffer,
      3,
      { x: 1, y: 1, width: 2, height: 1 },
      pixels,
      RGBX_PIXEL_FORMAT,
      new Map(),
    );
    const row1 = framebuffer.subarray(3 * 4, 6 * 4);
    assert.deepEqual([...row1], [0, 0, 0, 0, 10, 20, 30, 255, 40, 50, 60, 255]);
    assert.ok(
      framebuffer.subarray(0, 12).every((byte) => byte === 0),
      'row 0 untouched',
    );
  });

  it('scales 16 bpp big-endian RGB565 to 8 bits per channel', () => {
    const framebuffer = Buffer.alloc(2 * 4);
    // Pure red (31 << 11) and pure green (63 << 5), big endian.
    const pixels = Buffer.from([0xf8, 0x00, 0x07, 0xe0]);
    writePixels(
      framebuffer,
      2,
      { x: 0, y: 0, width: 2, height: 1 },
      pixels,
      RGB565_BIG_ENDIAN,
      new Map(),
    );
    assert.deepEqual([...framebuffer], [255, 0, 0, 255, 0, 255, 0, 255]);
  });

  it('looks colour-mapped pixels up in the map (SetColourMapEntries)', () => {
    const framebuffer = Buffer.alloc(4);
    const format = { ...RGBX_PIXEL_FORMAT, bitsPerPixel: 8 as const, depth: 8, trueColour: false };
    writePixels(
      framebuffer,
      1,
      { x: 0, y: 0, width: 1, height: 1 },
      Buffer.from([7]),
      format,
      new Map([[7, [1, 2, 3]]]),
    );
    assert.deepEqual([...framebuffer], [1, 2, 3, 255]);
  });
});
