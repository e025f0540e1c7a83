import type { IncomingMessage, Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ResourceApi } from './resource-api';
import { findResourceType } from './resource-types';

const PODS = findResourceType('', 'v1', 'pods')!;
const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/;
// The apiserver's port-forward subprotocols that frame channels the same way (channel byte first).
const PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'];
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;

function frame(channel: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), payload]);
}

function portPrefix(channel: number, port: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16LE(port, 0);
  return frame(channel, prefix);
}

/**
 * The pods/portforward subresource over WebSocket, as the apiserver serves it to kubectl and
 * @kubernetes/client-node: channel 0 carries the bytes, channel 1 errors, and the server opens
 * each channel with the port number (uint16, little-endian). Bytes go to the pod IP on the
 * Docker network, as the kubelet's port-forward reaches the pod's network namespace.
 */
export function attachPortForward(
  server: Server,
  api: ResourceApi,
  token: string | undefined,
  log: (path: string) => void,
): () => void {
  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    log(url.pathname);
    const match = PATH.exec(url.pathname);
    const port = Number(url.searchParams.get('ports'));
    if (match === null || !Number.isInteger(port) || port < 1 || port > 65_535) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (token !== undefined && request.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) =>
      forward(ws, decodeURIComponent(match[1]!), decodeURIComponent(match[2]!), port),
    );
  };

  function forward(ws: WebSocket, namespace: string, name: string, port: number): void {
    ws.send(portPrefix(DATA_CHANNEL, port));
    ws.send(portPrefix(ERROR_CHANNEL, port));
    const pod = api.store.get(PODS, namespace, name);
    const podIp = (pod?.status as { podIP?: string; phase?: string } | undefined)?.podIP;
    if (
      pod === undefined ||
      podIp === undefined ||
      (pod.status as { phase?: string }).phase !== 'Running'
    ) {
      ws.send(frame(ERROR_CHANNEL, Buffer.from(`pod ${namespace}/${name} is not running`)));
      ws.close();
      return;
    }
    const tcp = connect({ host: podIp, port });
    tcp.on('data', (chunk: Buffer) => ws.send(frame(DATA_CHANNEL, chunk)));
    tcp.on('error', (error) => {
      if (ws.readyState === ws.OPEN)
        ws.send(
          frame(ERROR_CHANNEL, Buffer.from(`error forwarding port ${port}: ${error.message}`)),
        );
      ws.close();
    });
    tcp.on('close', () => ws.close());
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || data.length === 0 || data[0] !== DATA_CHANNEL) return;
      tcp.write(data.subarray(1));
    });
    ws.on('close', () => tcp.destroy());
  }

  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const client of sockets.clients) client.terminate();
    sockets.close();
  };
}
