import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '@streamspace/protocol';
import { createAgentStreamMux, type AgentStreamMux } from '../src/streams/agent-stream-mux';
import { createStreamMux, type StreamMux } from '@streamspace/stream-mux';
import { webSocketBinaryLink } from '../src/streams/websocket-binary-link';

export interface MuxPair {
  /** The control plane's end (opener). */
  opener: StreamMux;
  /** The agent's end (acceptor). */
  acceptor: AgentStreamMux;
  /** Control-plane side socket of the link: send raw frames to the agent with it. */
  openerSocket: WebSocket;
  /** Agent side socket of the link (the WebSocket client, which masks what it sends). */
  agentSocket: WebSocket;
  /** Every binary message the opener received, for asserting on refusals. */
  openerReceived: Buffer[];
  close(): Promise<void>;
}

export interface MuxPairOptions {
  windowBytes?: number;
  maxStreams?: number;
  clock?: Clock;
  /** Replaces the driver: by default a plain TCP connect to 127.0.0.1:<port>. */
  openStream?: (sessionId: string, port: number) => Promise<Duplex>;
}

/**
 * A real agent link on loopback: a `ws` server (control-plane side, opener) and a `ws`
 * client (agent side, acceptor, masks what it sends like a real agent), each with its mux.
 */
export async function createMuxPair(options: MuxPairOptions = {}): Promise<MuxPair> {
  const logger = pino({ level: 'silent' });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const serverSide = once(server, 'connection') as Promise<[WebSocket]>;
  const agentSocket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await once(agentSocket, 'open');
  const [openerSocket] = await serverSide;

  const openerReceived: Buffer[] = [];
  const opener = createStreamMux({
    link: webSocketBinaryLink(openerSocket),
    role: 'opener',
    logger,
    clock: options.clock,
    windowBytes: options.windowBytes,
    maxStreams: options.maxStreams,
  });
  openerSocket.on('message', (data: Buffer) => {
    openerReceived.push(data);
    opener.handleBinary(data);
  });
  openerSocket.on('close', () => opener.closeAll('link closed'));

  const acceptor = createAgentStreamMux(webSocketBinaryLink(agentSocket), {
    driver: {
      openStream:
        options.openStream ??
        (async (_sessionId, targetPort) => {
          const socket = connect({ host: '127.0.0.1', port: targetPort });
          await once(socket, 'connect');
          return socket;
        }),
    },
    logger,
    clock: options.clock,
    windowBytes: options.windowBytes,
    maxStreams: options.maxStreams,
  });
  agentSocket.on('message', (data: Buffer) => acceptor.handleBinary(data));
  agentSocket.on('close', () => acceptor.closeAll('link closed'));

  return {
    opener,
    acceptor,
    openerSocket,
    agentSocket,
    openerReceived,
    async close() {
      agentSocket.terminate();
      openerSocket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server on a free loopback port; `onSocket` decides what each connection does. */
export async function startTcpServer(
  onSocket: (socket: import('node:net').Socket) => void,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
