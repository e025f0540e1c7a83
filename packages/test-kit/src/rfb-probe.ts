import type { Duplex } from 'node:stream';
import { ByteReader, ByteReaderError } from './byte-reader';
import { VNC_CHALLENGE_BYTES, vncAuthResponse } from './vnc-des';
import {
  decodePixelFormat,
  encodePixelFormat,
  RGBX_PIXEL_FORMAT,
  writePixels,
  type PixelFormat,
} from './rfb-pixels';

export { RGBX_PIXEL_FORMAT, type PixelFormat } from './rfb-pixels';

/** Stable codes tests branch on. */
export type RfbErrorCode =
  | 'auth_failed'
  | 'connection_refused'
  | 'unsupported_version'
  | 'unsupported_security'
  | 'unsupported_encoding'
  | 'protocol_error'
  | 'unexpected_eof'
  | 'timeout';

export class RfbError extends Error {
  override readonly name = 'RfbError';

  constructor(
    readonly code: RfbErrorCode,
    message: string,
    /** The server's own words, when it sent a reason string (RFC 6143 §7.1.2, §7.1.3). */
    readonly serverReason?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// RFC 6143 §7.2 security types; §7.7 encodings; §7.5 / §7.6 message types.
export const SECURITY_NONE = 1;
export const SECURITY_VNC_AUTH = 2;
export const ENCODING_RAW = 0;
export const ENCODING_COPY_RECT = 1;
/** DesktopSize pseudo-encoding (RFC 6143 §7.8.2). */
export const ENCODING_DESKTOP_SIZE = -223;

const CLIENT_SET_PIXEL_FORMAT = 0;
const CLIENT_SET_ENCODINGS = 2;
const CLIENT_UPDATE_REQUEST = 3;
const CLIENT_KEY_EVENT = 4;
const CLIENT_POINTER_EVENT = 5;
const SERVER_FRAMEBUFFER_UPDATE = 0;
const SERVER_SET_COLOUR_MAP = 1;
const SERVER_BELL = 2;
const SERVER_CUT_TEXT = 3;

/** Reason strings and cut text beyond this are a broken or hostile server. */
const MAX_STRING_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

// X11 keysyms (RFC 6143 §7.5.4 defers to the X Window System's keysymdef.h).
const KEYSYM_RETURN = 0xff0d;
const KEYSYM_TAB = 0xff09;
const KEYSYM_BACKSPACE = 0xff08;
/** Keysyms for Unicode code points outside Latin-1 are 0x01000000 + code point. */
const KEYSYM_UNICODE_BASE = 0x0100_0000;

export interface RfbConnectOptions {
  /** Required when the server offers only VNC Authentication. */
  password?: string;
  /** Per-read deadline in ms during the handshake and default for reads (10 s). */
  timeoutMs?: number;
  /** ClientInit shared flag (RFC 6143 §7.3.1); true by default so other viewers stay. */
  shared?: boolean;
}

export interface RfbRectangle {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
}

export interface RfbUpdate {
  rectangles: RfbRectangle[];
}

/**
 * A small RFB 3.8 client (RFC 6143) for tests: handshake with None or VNC Authentication,
 * then Raw (and CopyRect) framebuffer updates into an RGBA buffer, key and pointer input.
 * Works over any Duplex: a net.Socket, or a WebSocket wrapped by ws's createWebSocketStream.
 */
export class RfbProbe {
  /** RGBA, 4 bytes per pixel, row-major, alpha always 255. */
  framebuffer: Buffer;
  bells = 0;
  readonly cutTexts: string[] = [];
  private colourMap = new Map<number, [number, number, number]>();

  private constructor(
    private readonly stream: Duplex,
    private readonly reader: ByteReader,
    readonly protocolVersion: string,
    public width: number,
    public height: number,
    public pixelFormat: PixelFormat,
    readonly name: string,
    private readonly timeoutMs: number,
  ) {
    this.framebuffer = Buffer.alloc(width * height * 4);
  }

  /** Run the handshake through ServerInit; the stream is destroyed on failure. */
  static async connect(stream: Duplex, options: RfbConnectOptions = {}): Promise<RfbProbe> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const reader = new ByteReader(stream);
    try {
      return await RfbProbe.handshake(stream, reader, options, timeoutMs);
    } catch (error) {
      stream.destroy();
      throw translate(error);
    }
  }

  private static async handshake(
    stream: Duplex,
    reader: ByteReader,
    options: RfbConnectOptions,
    timeoutMs: number,
  ): Promise<RfbProbe> {
    const read = (length: number, what: string): Promise<Buffer> =>
      reader.read(length, what, timeoutMs);

    // §7.1.1 ProtocolVersion: "RFB xxx.yyy\n".
    const banner = (await read(12, 'ProtocolVersion')).toString('latin1');
    const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(banner);
    if (match === null) {
      throw new RfbError('protocol_error', `not an RFB server (banner ${JSON.stringify(banner)})`);
    }
    const major = Number(match[1]);
    const minor = major > 3 ? 8 : Number(match[2]);
    if (major < 3 || minor < 3) {
      throw new RfbError('unsupported_version', `unsupported RFB version ${banner.trim()}`);
    }
    const version = minor >= 8 ? '3.8' : minor >= 7 ? '3.7' : '3.3';
    stream.write(`RFB 003.00${version.slice(2)}\n`);

    const readReason = async (): Promise<string> => {
      const length = (await read(4, 'reason length')).readUInt32BE(0);
      if (length > MAX_STRING_BYTES) throw new RfbError('protocol_error', 'reason too long');
      return (await read(length, 'reason')).toString('utf8');
    };

    // §7.1.2 Security: 3.7+ lists types; 3.3 lets the server pick one (a u32).
    let securityType: number;
    if (version === '3.3') {
      securityType = (await read(4, 'security type')).readUInt32BE(0);
      if (securityType === 0) {
        const reason = await readReason();
        throw new RfbError('connection_refused', `server refused: ${reason}`, reason);
      }
    } else {
      const count = (await read(1, 'security type count')).readUInt8(0);
      if (count === 0) {
        const reason = await readReason();
        throw new RfbError('connection_refused', `server refused: ${reason}`, reason);
      }
      const offered = [...(await read(count, 'security types'))];
      if (options.password !== undefined && offered.includes(SECURITY_VNC_AUTH)) {
        securityType = SECURITY_VNC_AUTH;
      } else if (offered.includes(SECURITY_NONE)) {
        securityType = SECURITY_NONE;
      } else if (offered.includes(SECURITY_VNC_AUTH)) {
        throw new RfbError('auth_failed', 'server requires VNC Authentication and no password');
      } else {
        throw new RfbError(
          'unsupported_security',
          `no supported security type among [${offered.join(', ')}]`,
        );
      }
      stream.write(Buffer.from([securityType]));
    }

    if (securityType === SECURITY_VNC_AUTH) {
      // §7.2.2: DES-encrypt the 16-byte challenge with the password as key.
      const challenge = await read(VNC_CHALLENGE_BYTES, 'VNC Authentication challenge');
      stream.write(vncAuthResponse(options.password ?? '', challenge));
    } else if (securityType !== SECURITY_NONE) {
      throw new RfbError('unsupported_security', `unsupported security type ${securityType}`);
    }

    // §7.1.3 SecurityResult: 3.8 always sends it; 3.3 and 3.7 only after VNC Authentication.
    if (version === '3.8' || securityType === SECURITY_VNC_AUTH) {
      const result = (await read(4, 'SecurityResult')).readUInt32BE(0);
      if (result !== 0) {
        const reason = version === '3.8' ? await readReason() : 'authentication failed';
        throw new RfbError('auth_failed', `VNC authentication failed: ${reason}`, reason);
      }
    }

    // §7.3.1 ClientInit, §7.3.2 ServerInit.
    stream.write(Buffer.from([options.shared === false ? 0 : 1]));
    const init = await read(24, 'ServerInit');
    const width = init.readUInt16BE(0);
    const height = init.readUInt16BE(2);
    const pixelFormat = decodePixelFormat(init.subarray(4, 20));
    const nameLength = init.readUInt32BE(20);
    if (nameLength > MAX_STRING_BYTES) throw new RfbError('protocol_error', 'name too long');
    const name = (await read(nameLength, 'desktop name')).toString('utf8');
    return new RfbProbe(stream, reader, version, width, height, pixelFormat, name, timeoutMs);
  }

  /** SetPixelFormat (§7.5.1); defaults to 32 bpp true colour, R,G,B,X bytes in memory. */
  setPixelFormat(format: PixelFormat = RGBX_PIXEL_FORMAT): void {
    const message = Buffer.alloc(20);
    message.writeUInt8(CLIENT_SET_PIXEL_FORMAT, 0);
    encodePixelFormat(format).copy(message, 4);
    this.stream.write(message);
    this.pixelFormat = format;
  }

  /** SetEncodings (§7.5.2), in order of preference. Raw is always supported by servers. */
  setEncodings(encodings: number[] = [ENCODING_RAW]): void {
    const message = Buffer.alloc(4 + 4 * encodings.length);
    message.writeUInt8(CLIENT_SET_ENCODINGS, 0);
    message.writeUInt16BE(encodings.length, 2);
    encodings.forEach((encoding, index) => message.writeInt32BE(encoding, 4 + 4 * index));
    this.stream.write(message);
  }

  /** FramebufferUpdateRequest (§7.5.3); the whole screen unless a region is given. */
  requestUpdate(incremental: boolean, x = 0, y = 0, width = this.width, height = this.height) {
    const message = Buffer.alloc(10);
    message.writeUInt8(CLIENT_UPDATE_REQUEST, 0);
    message.writeUInt8(incremental ? 1 : 0, 1);
    message.writeUInt16BE(x, 2);
    message.writeUInt16BE(y, 4);
    message.writeUInt16BE(width, 6);
    message.writeUInt16BE(height, 8);
    this.stream.write(message);
  }

  /**
   * Read server messages until one FramebufferUpdate has been applied to `framebuffer`.
   * Bell, ServerCutText and SetColourMapEntries on the way are recorded, not errors.
   */
  async readUpdate(timeoutMs = this.timeoutMs): Promise<RfbUpdate> {
    const deadline = Date.now() + timeoutMs;
    const read = (length: number, what: string): Promise<Buffer> =>
      this.reader.read(length, what, Math.max(1, deadline - Date.now()));
    try {
      for (;;) {
        const type = (await read(1, 'server message type')).readUInt8(0);
        if (type === SERVER_FRAMEBUFFER_UPDATE) return await this.readFramebufferUpdate(read);
        if (type === SERVER_BELL) {
          this.bells += 1;
        } else if (type === SERVER_CUT_TEXT) {
          const header = await read(7, 'ServerCutText header');
          const length = header.readUInt32BE(3);
          if (length > MAX_STRING_BYTES) throw new RfbError('protocol_error', 'cut text too long');
          this.cutTexts.push((await read(length, 'ServerCutText')).toString('latin1'));
        } else if (type === SERVER_SET_COLOUR_MAP) {
          const header = await read(5, 'SetColourMapEntries header');
          const first = header.readUInt16BE(1);
          const count = header.readUInt16BE(3);
          const entries = await read(6 * count, 'colour map entries');
          for (let index = 0; index < count; index += 1) {
            // §7.6.2: 16-bit channel values; keep the high byte.
            this.colourMap.set(first + index, [
              entries.readUInt16BE(index * 6) >> 8,
              entries.readUInt16BE(index * 6 + 2) >> 8,
              entries.readUInt16BE(index * 6 + 4) >> 8,
            ]);
          }
        } else {
          throw new RfbError('protocol_error', `unknown server message type ${type}`);
        }
      }
    } catch (error) {
      throw translate(error);
    }
  }

  private async readFramebufferUpdate(
    read: (length: number, what: string) => Promise<Buffer>,
  ): Promise<RfbUpdate> {
    const count = (await read(3, 'FramebufferUpdate header')).readUInt16BE(1);
    const rectangles: RfbRectangle[] = [];
    for (let index = 0; index < count; index += 1) {
      const header = await read(12, 'rectangle header');
      const rect: RfbRectangle = {
        x: header.readUInt16BE(0),
        y: header.readUInt16BE(2),
        width: header.readUInt16BE(4),
        height: header.readUInt16BE(6),
        encoding: header.readInt32BE(8),
      };
      rectangles.push(rect);
      if (rect.encoding === ENCODING_RAW) {
        const bytesPerPixel = this.pixelFormat.bitsPerPixel / 8;
        const pixels = await read(rect.width * rect.height * bytesPerPixel, 'Raw rectangle');
        this.checkBounds(rect);
        writePixels(this.framebuffer, this.width, rect, pixels, this.pixelFormat, this.colourMap);
      } else if (rect.encoding === ENCODING_COPY_RECT) {
        const source = await read(4, 'CopyRect source');
        this.checkBounds(rect);
        this.copyRect(rect, source.readUInt16BE(0), source.readUInt16BE(2));
      } else if (rect.encoding === ENCODING_DESKTOP_SIZE) {
        this.width = rect.width;
        this.height = rect.height;
        this.framebuffer = Buffer.alloc(rect.width * rect.height * 4);
      } else {
        throw new RfbError('unsupported_encoding', `server sent encoding ${rect.encoding}`);
      }
    }
    return { rectangles };
  }

  private checkBounds(rect: RfbRectangle): void {
    if (rect.x + rect.width > this.width || rect.y + rect.height > this.height) {
      throw new RfbError('protocol_error', `rectangle ${JSON.stringify(rect)} outside the screen`);
    }
  }

  private copyRect(rect: RfbRectangle, sourceX: number, sourceY: number): void {
    const source = Buffer.from(this.framebuffer);
    const rowBytes = rect.width * 4;
    for (let row = 0; row < rect.height; row += 1) {
      const from = ((sourceY + row) * this.width + sourceX) * 4;
      source.copy(
        this.framebuffer,
        ((rect.y + row) * this.width + rect.x) * 4,
        from,
        from + rowBytes,
      );
    }
  }

  /** RGBA of one pixel of the framebuffer. */
  pixel(x: number, y: number): [number, number, number, number] {
    const offset = (y * this.width + x) * 4;
    const fb = this.framebuffer;
    return [fb[offset]!, fb[offset + 1]!, fb[offset + 2]!, fb[offset + 3]!];
  }

  /** How many distinct colours the framebuffer holds (1 means a blank screen). */
  distinctColours(limit = 1024): number {
    const seen = new Set<number>();
    for (let offset = 0; offset < this.framebuffer.length && seen.size < limit; offset += 4) {
      seen.add(this.framebuffer.readUInt32BE(offset));
    }
    return seen.size;
  }

  /** KeyEvent (§7.5.4). */
  sendKey(keysym: number, down: boolean): void {
    const message = Buffer.alloc(8);
    message.writeUInt8(CLIENT_KEY_EVENT, 0);
    message.writeUInt8(down ? 1 : 0, 1);
    message.writeUInt32BE(keysym, 4);
    this.stream.write(message);
  }

  /** Press and release a key per character; newline is Return. */
  typeText(text: string): void {
    for (const char of text) {
      const keysym = keysymFor(char);
      this.sendKey(keysym, true);
      this.sendKey(keysym, false);
    }
  }

  /** PointerEvent (§7.5.5); buttonMask bit 0 is the left button. */
  sendPointer(x: number, y: number, buttonMask = 0): void {
    const message = Buffer.alloc(6);
    message.writeUInt8(CLIENT_POINTER_EVENT, 0);
    message.writeUInt8(buttonMask, 1);
    message.writeUInt16BE(x, 2);
    message.writeUInt16BE(y, 4);
    this.stream.write(message);
  }

  close(): void {
    this.stream.destroy();
  }
}

/** The X11 keysym for one character (Latin-1 maps to itself, see keysymdef.h). */
export function keysymFor(char: string): number {
  if (char === '\n' || char === '\r') return KEYSYM_RETURN;
  if (char === '\t') return KEYSYM_TAB;
  if (char === '\b') return KEYSYM_BACKSPACE;
  const codePoint = char.codePointAt(0) ?? 0;
  if ((codePoint >= 0x20 && codePoint <= 0x7e) || (codePoint >= 0xa0 && codePoint <= 0xff)) {
    return codePoint;
  }
  return KEYSYM_UNICODE_BASE + codePoint;
}

function translate(error: unknown): Error {
  if (error instanceof ByteReaderError) {
    const code = error.code === 'timeout' ? 'timeout' : 'unexpected_eof';
    return new RfbError(code, error.message, undefined, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
