import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { ByteReader } from './byte-reader';
import { openViewerSocket } from './viewer-socket';

/** RFC 6143 §7.1.1: what an RFB server sends first, unasked. */
const GREETING = Buffer.from('RFB 003.008\n');
/** RFC 6455 §1.3: the GUID a server hashes the client's key with. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * A WebSocket server whose 101 response and first binary message (the RFB greeting) go out
 * in one write, so the client reads both in one TCP read: what a viewer on a busy machine
 * gets when it reads the handshake answer only after the session has already greeted.
 */
function greetWithHandshake(): { server: Server; close(): void } {
  const sockets = new Set<Socket>();
  const server = createServer();
  server.on('upgrade', (request, socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const accept = createHash('sha1')
      .update(`${request.headers['sec-websocket-key']}${WEBSOCKET_GUID}`)
      .digest('base64');
    const handshake =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`;
    // FIN + binary, unmasked (server → client), 7-bit length (RFC 6455 §5.2).
    const frameHeader = Buffer.from([0x82, GREETING.length]);
    socket.write(Buffer.concat([Buffer.from(handshake, 'latin1'), frameHeader, GREETING]));
  });
  return {
    server,
    close() {
      sockets.forEach((socket) => socket.destroy()); // upgraded: no longer the server's
      server.close();
    },
  };
}

describe('a viewer WebSocket whose greeting arrives with the handshake answer', () => {
  let greeter: ReturnType<typeof greetWithHandshake>;
  let url: string;
  const sockets: WebSocket[] = [];

  before(async () => {
    greeter = greetWithHandshake();
    greeter.server.listen(0, '127.0.0.1');
    await once(greeter.server, 'listening');
    url = `ws://127.0.0.1:${(greeter.server.address() as AddressInfo).port}/vnc/test`;
  });
  after(() => {
    sockets.forEach((ws) => ws.terminate());
    greeter.close();
  });

  it("is a real race: ws emits that message before an awaited 'open' continues", async () => {
    // The pattern e2e used until the fix: await 'open', then listen. Counted here by a
    // listener that exists from the start, to show the message was already gone by then.
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    let messagesBeforeOpenContinued = 0;
    ws.on('message', () => (messagesBeforeOpenContinued += 1));
    await once(ws, 'open');
    assert.equal(
      messagesBeforeOpenContinued,
      1,
      "the greeting should already have been emitted when an awaited 'open' continues",
    );
  });

  it('delivers the greeting on the viewer stream', async () => {
    const { ws, stream } = await openViewerSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    const greeting = await new ByteReader(stream).read(GREETING.length, 'ProtocolVersion', 5_000);
    assert.deepEqual(greeting, GREETING, 'the viewer gets the RFB greeting, not a stall');
  });

  it('rejects when the handshake fails', async () => {
    const refusing = createServer((_request, response) => response.writeHead(403).end());
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    const port = (refusing.address() as AddressInfo).port;
    try {
      await assert.rejects(
        openViewerSocket(`ws://127.0.0.1:${port}/vnc/test`, {}),
        /Unexpected server response: 403/,
      );
    } finally {
      refusing.close();
    }
  });
});
