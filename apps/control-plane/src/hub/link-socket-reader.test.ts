import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { waitFor } from '@streamspace/test-kit';
import {
  FRAME_HEADER_BYTES,
  FrameKind,
  MAX_FRAME_PAYLOAD_BYTES,
  encodeCredit,
  encodeFrame,
} from '@streamspace/protocol';
import { LINK_SLAB_BYTES, type LinkSlabPool } from './link-slab-pool';
import { readLinkIntoSlabs } from './link-socket-reader';

const MAX_PAYLOAD = 4 * 1024 * 1024;

interface Received {
  kind: 'binary' | 'text' | 'ping';
  data: Buffer;
}

interface ServerSide {
  ws: WebSocket;
  pool: LinkSlabPool | undefined;
  received: Received[];
  closed: Promise<[code: number, reason: string]>;
}

/** Build one client frame (RFC 6455 §5.2), masked unless told otherwise. */
function frame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const { fin = true, mask = true, rsv = 0 } = options;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  key.copy(header, 2 + lengthBytes);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++)
    masked[i] = (masked[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([header, masked]);
}

/**
 * A link message of DATA frames for one stream carrying `bytes` in all (random payload),
 * split at MAX_FRAME_PAYLOAD_BYTES: what the agent's mux sends.
 */
function dataMessage(streamId: number, bytes: number): Buffer {
  const frames: Buffer[] = [];
  let left = Math.max(0, bytes - FRAME_HEADER_BYTES);
  do {
    const count = Math.min(left, MAX_FRAME_PAYLOAD_BYTES - FRAME_HEADER_BYTES);
    frames.push(encodeFrame(FrameKind.data, streamId, randomBytes(count)));
    left -= count;
  } while (left > 0);
  return Buffer.concat(frames);
}

/** Server frames (unmasked) the client got after the HTTP response. */
function parseServerFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (bytes.length - at >= 2) {
    const opcode = (bytes[at] as number) & 0x0f;
    let length = (bytes[at + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      if (bytes.length - at < 4) break;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    }
    if (bytes.length - at < header + length) break;
    frames.push({ opcode, payload: bytes.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return frames;
}

describe('link socket reader: ws frames read into slabs', () => {
  let server: Server;
  let port: number;
  const sides: ServerSide[] = [];
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD,
  });

  before(async () => {
    server = createServer();
    server.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        const received: Received[] = [];
        const pool = readLinkIntoSlabs(ws, socket);
        ws.on('message', (data: RawData, isBinary: boolean) => {
          // As agent-connection.ts does: the pool sees every binary message first.
          if (isBinary) pool?.inbound(data as Buffer);
          // Kept as delivered (views, not copies): later reads must never overwrite them.
          received.push({ kind: isBinary ? 'binary' : 'text', data: data as Buffer });
        });
        ws.on('ping', (data: Buffer) => received.push({ kind: 'ping', data: Buffer.from(data) }));
        ws.on('error', () => {});
        // Not events.once: it would reject on the 'error' ws emits before closing.
        const closed = new Promise<[number, string]>((resolve) =>
          ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])),
        );
        sides.push({ ws, pool, received, closed });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const side of sides) side.ws.terminate();
    wss.close();
    server.close();
  });

  /** Upgrade a raw TCP client; `first` goes out in the same write as the request. */
  async function open(first: Buffer = Buffer.alloc(0)) {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    let raw = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (raw = Buffer.concat([raw, chunk])));
    const count = sides.length;
    socket.write(
      Buffer.concat([
        Buffer.from(
          'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        ),
        first,
      ]),
    );
    await waitFor('the upgrade', () => sides.length > count && raw.includes('\r\n\r\n'));
    const side = sides[count] as ServerSide;
    assert.ok(side.pool !== undefined, 'the reader takes over a plain TCP socket');
    const serverFrames = () => parseServerFrames(raw.subarray(raw.indexOf('\r\n\r\n') + 4));
    return { socket, side, serverFrames };
  }

  /** Write `bytes` in pieces of random sizes, so frames straddle every kind of read boundary. */
  async function writeInPieces(socket: Socket, bytes: Buffer, largest: number): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(Math.random() ** 3 * largest);
      const piece = bytes.subarray(at, at + size);
      at += piece.length;
      if (!socket.write(piece)) await once(socket, 'drain');
    }
  }

  it('delivers every message intact and in order, across reads and slabs, and never overwrites one it delivered', async () => {
    const first = dataMessage(1, 1000);
    const { socket, side, serverFrames } = await open(frame(2, first));
    const expected: Received[] = [{ kind: 'binary', data: first }];
    const frames: Buffer[] = [];
    // Message sizes around every WebSocket length encoding and the slab size.
    const sizes = [0, 1, 125, 126, 65_535, 65_536, LINK_SLAB_BYTES - 20, LINK_SLAB_BYTES + 1];
    for (let i = 0; i < 160; i++) {
      const size = sizes[i] ?? Math.floor(Math.random() ** 2 * 300 * 1024);
      const data = dataMessage(1 + (i % 3), size);
      frames.push(frame(2, data));
      expected.push({ kind: 'binary', data });
      if (i % 17 === 0) {
        const text = `text ${i} ✓`;
        frames.push(frame(1, Buffer.from(text)));
        expected.push({ kind: 'text', data: Buffer.from(text) });
      }
      if (i % 23 === 0) {
        const ping = Buffer.from(`ping ${i}`);
        frames.push(frame(9, ping));
        expected.push({ kind: 'ping', data: ping });
      }
      if (i % 31 === 0) {
        // A fragmented binary message with a ping between its fragments (RFC 6455 §5.4).
        const whole = dataMessage(2, 270_003);
        const parts = [
          whole.subarray(0, 70_000),
          whole.subarray(70_000, 70_003),
          whole.subarray(70_003),
        ];
        const ping = Buffer.from(`between fragments ${i}`);
        frames.push(frame(2, parts[0] as Buffer, { fin: false }));
        frames.push(frame(9, ping));
        frames.push(frame(0, parts[1] as Buffer, { fin: false }));
        frames.push(frame(0, parts[2] as Buffer));
        expected.push({ kind: 'ping', data: ping });
        expected.push({ kind: 'binary', data: Buffer.concat(parts) });
      }
    }
    await writeInPieces(socket, Buffer.concat(frames), 200 * 1024);
    await waitFor('every message', () => side.received.length >= expected.length, {
      timeoutMs: 30_000,
    });
    assert.equal(side.received.length, expected.length);
    for (const [index, want] of expected.entries()) {
      const got = side.received[index] as Received;
      assert.equal(got.kind, want.kind, `message ${index}`);
      assert.ok(got.data.equals(want.data), `message ${index} (${want.kind}) has its own bytes`);
    }
    // Whole binary frames arrive as views of the reader's slabs, not as per-message copies.
    const large = side.received.find((r) => r.kind === 'binary' && r.data.length === 65_536);
    assert.ok((large?.data.buffer.byteLength ?? 0) >= LINK_SLAB_BYTES);
    const pings = expected.filter((r) => r.kind === 'ping').length;
    await waitFor(
      'a pong per ping',
      () => serverFrames().filter((f) => f.opcode === 0xa).length === pings,
    );
    socket.destroy();
  });

  it('reuses a slab only once every DATA payload read into it was credited back', async () => {
    const { socket, side } = await open();
    const pool = side.pool as LinkSlabPool;
    // What a viewer's socket would hold: views of DATA payloads, flushed in order per stream,
    // and the credit the mux would send for them once flushed.
    const held = new Map<number, { view: Buffer; copy: Buffer }[]>();
    let checked = 0;
    let delivered = 0;
    const flush = (streamId: number, count: number) => {
      const queue = held.get(streamId) ?? [];
      let bytes = 0;
      for (const { view, copy } of queue.splice(0, count)) {
        assert.ok(view.equals(copy), `stream ${streamId}: a held payload was overwritten`);
        bytes += view.length;
        checked += 1;
      }
      if (bytes > 0) pool.outbound(encodeCredit(streamId, bytes));
    };
    side.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      delivered += 1;
      for (let at = 0; at < data.length;) {
        const streamId = data.readUInt32BE(at + 1);
        const length = data.readUInt32BE(at + 5);
        const view = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        const queue = held.get(streamId) ?? [];
        queue.push({ view, copy: Buffer.from(view) });
        held.set(streamId, queue);
        at += FRAME_HEADER_BYTES + length;
      }
      // Streams 1-3 are flushed a little behind; stream 4's viewer reads nothing until the end.
      const streamId = 1 + Math.floor(Math.random() * 3);
      flush(streamId, Math.floor(Math.random() * 3));
    });
    const messages: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const streamId = i % 50 === 0 ? 4 : 1 + (i % 3);
      messages.push(frame(2, dataMessage(streamId, 1 + Math.floor(Math.random() * 96 * 1024))));
    }
    await writeInPieces(socket, Buffer.concat(messages), 256 * 1024);
    await waitFor('every message', () => delivered === messages.length, { timeoutMs: 30_000 });
    for (const streamId of [1, 2, 3, 4]) flush(streamId, Number.POSITIVE_INFINITY);
    assert.ok(checked >= messages.length);
    assert.ok(pool.stats().reused > 0, 'slabs were reused once their credit came back');
    socket.destroy();
  });

  it('a close frame completes the closing handshake with the client code and reason', async () => {
    const { socket, side, serverFrames } = await open();
    const close = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]);
    socket.write(frame(8, close));
    assert.deepEqual(await side.closed, [4000, 'bye']);
    await waitFor('the close echo', () => serverFrames().some((f) => f.opcode === 0x8));
    const echoed = serverFrames().find((f) => f.opcode === 0x8);
    assert.equal(echoed?.payload.readUInt16BE(0), 4000);
    socket.destroy();
  });

  for (const [what, bytes, code] of [
    ['an unmasked client frame', frame(2, randomBytes(10), { mask: false }), 1002],
    ['a frame with RSV bits set', frame(2, randomBytes(10), { rsv: 4 }), 1002],
    ['an unknown opcode', frame(3, randomBytes(10)), 1002],
    ['a fragmented control frame', frame(9, randomBytes(4), { fin: false }), 1002],
    ['text that is not UTF-8', frame(1, Buffer.from([0xc3, 0x28])), 1007],
    // Only the header is sent: ws refuses the length before any payload arrives.
    ['a frame over maxPayload', frame(2, Buffer.alloc(MAX_PAYLOAD + 1)).subarray(0, 14), 1009],
  ] as const) {
    it(`${what} closes the link with ${code}`, async () => {
      const { socket, side, serverFrames } = await open();
      const good = randomBytes(300_000);
      await writeInPieces(socket, Buffer.concat([frame(2, good), bytes]), 64 * 1024);
      // ws answers with a close frame carrying the code; the client never completes the
      // handshake here, so the server's own close event only reports 1006 (abnormal).
      const close = await waitFor('the server close frame', () =>
        serverFrames().find((f) => f.opcode === 0x8),
      );
      assert.equal(close.payload.readUInt16BE(0), code);
      assert.equal(side.received.length, 1, 'what came before the bad frame was delivered');
      assert.ok(side.received[0]?.data.equals(good));
      socket.destroy();
      await side.closed;
    });
  }

  it('returns false and changes nothing for a socket that is not plain TCP', async () => {
    const fake = { _receiver: { _allowSynchronousEvents: true }, extensions: '' };
    const { PassThrough } = await import('node:stream');
    assert.equal(readLinkIntoSlabs(fake as unknown as WebSocket, new PassThrough()), undefined);
  });
});
