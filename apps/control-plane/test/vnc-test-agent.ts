import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, type HelloMessage } from '@streamspace/protocol';
import {
  createAgentStreamMux,
  type AgentStreamMux,
} from '@streamspace/agent-runtime/streams/agent-stream-mux';
import { webSocketBinaryLink } from '@streamspace/agent-runtime/streams/websocket-binary-link';
import { api } from './test-app';

export interface TestAgent {
  agentId: string;
  ws: WebSocket;
  mux: AgentStreamMux;
  /** Drop the link abruptly, as a crashed agent would. */
  kill(): void;
}

/** Enroll an agent through the REST API; returns its id and secret. */
export async function enrollTestAgent(
  baseUrl: string,
  adminToken: string,
  name: string,
): Promise<{ agentId: string; secret: string }> {
  const token = await api(baseUrl, 'POST', '/api/v1/agents/enrollment-tokens', {
    token: adminToken,
    body: {},
  });
  const registered = await api(baseUrl, 'POST', '/api/v1/agents/register', {
    token: token.body.token,
    body: { name, platform: 'local' },
  });
  if (registered.status !== 201)
    throw new Error(`register failed: ${JSON.stringify(registered.body)}`);
  return { agentId: registered.body.agent.id, secret: registered.body.agentSecret };
}

/**
 * A minimal agent speaking the real link protocol: hello, then the real agent-side stream
 * mux, whose "driver" connects to a local TCP server standing in for the session's VNC port.
 */
export async function connectTestAgent(
  baseUrl: string,
  credential: { agentId: string; secret: string },
  targetPort: () => number,
  /** Sessions the agent says it runs in its hello (the control plane fails running ones it omits). */
  runningSessions: () => readonly string[] = () => [],
): Promise<TestAgent> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/agents/connect`, {
    headers: {
      authorization: `Bearer ${credential.secret}`,
      'x-streamspace-agent-id': credential.agentId,
    },
    perMessageDeflate: false,
  });
  await once(ws, 'open');
  const mux = createAgentStreamMux(webSocketBinaryLink(ws), {
    driver: {
      openStream: async (): Promise<Duplex> => {
        const socket = connect({ host: '127.0.0.1', port: targetPort() });
        await once(socket, 'connect');
        return socket;
      },
    },
    logger: pino({ level: process.env.STREAMSPACE_TEST_LOG_LEVEL ?? 'silent' }),
  });
  const welcomed = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) mux.handleBinary(data);
      else if (JSON.parse(data.toString()).type === 'welcome') resolve();
    });
  });
  ws.on('close', () => mux.closeAll('link closed'));
  const hello: HelloMessage = {
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    agentId: credential.agentId,
    platform: 'local',
    agentVersion: 'test',
    capacity: { maxSessions: 10 },
    region: '',
    labels: {},
    clusterInfo: {},
    inventory: runningSessions().map((sessionId) => ({
      sessionId,
      status: 'running' as const,
      details: {},
    })),
  };
  ws.send(JSON.stringify(hello));
  await welcomed;
  return { agentId: credential.agentId, ws, mux, kill: () => ws.terminate() };
}

/** A stand-in VNC server: sends the RFB 3.8 banner on connect, then echoes what it gets. */
export async function startBannerEchoServer(): Promise<{
  server: Server;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('RFB 003.008\n');
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
