/** RFC 6143 §7.4 PIXEL_FORMAT. */
export interface PixelFormat {
  bitsPerPixel: 8 | 16 | 32;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** 32 bpp, depth 24, little endian, red in the low byte: pixels arrive as R,G,B,X bytes. */
export const RGBX_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 0,
  greenShift: 8,
  blueShift: 16,
};

export function decodePixelFormat(bytes: Buffer): PixelFormat {
  const bitsPerPixel = bytes.readUInt8(0);
  if (bitsPerPixel !== 8 && bitsPerPixel !== 16 && bitsPerPixel !== 32) {
    throw new Error(`unsupported bits per pixel ${bitsPerPixel}`);
  }
  return {
    bitsPerPixel,
    depth: bytes.readUInt8(1),
    bigEndian: bytes.readUInt8(2) !== 0,
    trueColour: bytes.readUInt8(3) !== 0,
    redMax: bytes.readUInt16BE(4),
    greenMax: bytes.readUInt16BE(6),
    blueMax: bytes.readUInt16BE(8),
    redShift: bytes.readUInt8(10),
    greenShift: bytes.readUInt8(11),
    blueShift: bytes.readUInt8(12),
  };
}

export function encodePixelFormat(format: PixelFormat): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt8(format.bitsPerPixel, 0);
  bytes.writeUInt8(format.depth, 1);
  bytes.writeUInt8(format.bigEndian ? 1 : 0, 2);
  bytes.writeUInt8(format.trueColour ? 1 : 0, 3);
  bytes.writeUInt16BE(format.redMax, 4);
  bytes.writeUInt16BE(format.greenMax, 6);
  bytes.writeUInt16BE(format.blueMax, 8);
  bytes.writeUInt8(format.redShift, 10);
  bytes.writeUInt8(format.greenShift, 11);
  bytes.writeUInt8(format.blueShift, 12);
  return bytes;
}

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Scale a channel value in 0..max to 0..255. */
function scale(value: number, max: number): number {
  return max === 255 ? value : max === 0 ? 0 : Math.round((value * 255) / max);
}

/**
 * Convert one Raw rectangle (§7.7.1) in `format` into the RGBA framebuffer.
 * The framebuffer is `fbWidth` pixels wide, 4 bytes per pixel.
 */
export function writePixels(
  framebuffer: Buffer,
  fbWidth: number,
  rect: Rect,
  pixels: Buffer,
  format: PixelFormat,
  colourMap: Map<number, [number, number, number]>,
): void {
  const bytesPerPixel = format.bitsPerPixel / 8;
  const fastPath =
    format.bitsPerPixel === 32 &&
    format.trueColour &&
    !format.bigEndian &&
    format.redMax === 255 &&
    format.greenMax === 255 &&
    format.blueMax === 255 &&
    format.redShift === 0 &&
    format.greenShift === 8 &&
    format.blueShift === 16;
  for (let row = 0; row < rect.height; row += 1) {
    let target = ((rect.y + row) * fbWidth + rect.x) * 4;
    let source = row * rect.width * bytesPerPixel;
    if (fastPath) {
      pixels.copy(framebuffer, target, source, source + rect.width * 4);
      for (let column = 0; column < rect.width; column += 1)
        framebuffer[target + column * 4 + 3] = 255;
      continue;
    }
    for (let column = 0; column < rect.width; column += 1) {
      let value: number;
      if (bytesPerPixel === 1) value = pixels.readUInt8(source);
      else if (bytesPerPixel === 2) {
        value = format.bigEndian ? pixels.readUInt16BE(source) : pixels.readUInt16LE(source);
      } else {
        value = format.bigEndian ? pixels.readUInt32BE(source) : pixels.readUInt32LE(source);
      }
      if (format.trueColour) {
        framebuffer[target] = scale((value >>> format.redShift) & format.redMax, format.redMax);
        framebuffer[target + 1] = scale(
          (value >>> format.greenShift) & format.greenMax,
          format.greenMax,
        );
        framebuffer[target + 2] = scale(
          (value >>> format.blueShift) & format.blueMax,
          format.blueMax,
        );
      } else {
        const [red, green, blue] = colourMap.get(value) ?? [0, 0, 0];
        framebuffer[target] = red;
        framebuffer[target + 1] = green;
        framebuffer[target + 2] = blue;
      }
      framebuffer[target + 3] = 255;
      target += 4;
      source += bytesPerPixel;
    }
  }
}
