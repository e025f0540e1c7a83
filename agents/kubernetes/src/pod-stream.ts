import { connect } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { DriverError } from '@streamspace/session-driver';

/** Bound on reaching a pod's port, in ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A TCP connection to the pod IP: the agent runs in the cluster (or on its pod network). */
export function connectPodIp(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
      socket.destroy(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`)),
    );
    socket.once('connect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', (error) =>
      reject(
        new DriverError('session_not_found', `cannot reach ${host}:${port}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
  });
}

/**
 * A byte stream through the API server's pods/portforward subresource (WebSocket,
 * v4.channel.k8s.io): for an agent outside the cluster. Needs `create` on pods/portforward.
 */
export async function connectPortForward(
  kubeConfig: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
): Promise<Duplex> {
  const toPod = new PassThrough();
  const fromPod = new PassThrough();
  const forward = new PortForward(kubeConfig, true);
  const socket = await forward.portForward(namespace, pod, [port], fromPod, null, toPod);
  const duplex = Duplex.from({ readable: fromPod, writable: toPod });
  const ws = typeof socket === 'function' ? socket() : socket;
  ws?.on('close', () => fromPod.end());
  duplex.on('close', () => ws?.close());
  return duplex;
}
