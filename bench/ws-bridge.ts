// Baseline: a one-hop Node `ws` bridge (WebSocket ⇄ TCP), written the usual way with
// backpressure both ways. Usage: tsx bench/ws-bridge.ts <target port>
import { connect, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

const targetPort = Number(process.argv[2]);
const HIGH_WATER = 1024 * 1024;
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const socket = connect({ host: '127.0.0.1', port: targetPort });
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    ws.send(chunk, { binary: true });
    if (ws.bufferedAmount > HIGH_WATER && !socket.isPaused()) {
      socket.pause();
      const raw = (ws as unknown as { _socket: Socket })._socket;
      raw.once('drain', () => socket.resume());
    }
  });
  ws.on('message', (data: Buffer) => {
    if (!socket.write(data)) {
      ws.pause();
      socket.once('drain', () => ws.resume());
    }
  });
  socket.on('close', () => ws.close());
  socket.on('error', () => ws.close());
  ws.on('close', () => socket.destroy());
  ws.on('error', () => socket.destroy());
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`,
  );
});
