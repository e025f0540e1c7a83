import { once } from 'node:events';
import { connect } from 'node:net';
import { WebSocket } from 'ws';

/** One client connection through a path under test: raw bytes in, raw bytes out. */
export interface Conn {
  send(data: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  pause(): void;
  resume(): void;
  close(): void;
}

export async function tcpConn(port: number): Promise<Conn> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  socket.on('error', () => {});
  return {
    send: (data) => void socket.write(data),
    onData: (listener) => void socket.on('data', listener),
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    close: () => void socket.destroy(),
  };
}

/** A browser-like viewer: WebSocket, 'binary' subprotocol, no compression. */
export async function wsConn(url: string): Promise<Conn> {
  const ws = new WebSocket(url, ['binary'], { perMessageDeflate: false });
  ws.on('error', () => {});
  await once(ws, 'open');
  return {
    send: (data) => ws.send(data, { binary: true }),
    onData: (listener) => void ws.on('message', (data: Buffer) => listener(data)),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: () => ws.terminate(),
  };
}
