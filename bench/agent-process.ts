// The real agent runtime and agent-side stream mux for the benchmark, with a driver whose
// only job is openStream: a TCP connection to the benchmark's target server.
// Usage: tsx bench/agent-process.ts <control plane url> <agent id> <secret> <target port> <session id>
import { once } from 'node:events';
import { connect } from 'node:net';
import { pino } from 'pino';
import { createAgentRuntime } from '@streamspace/agent-runtime';
import { createAgentStreamMux } from '@streamspace/agent-runtime/streams/agent-stream-mux';
import type { SessionObservation } from '@streamspace/protocol';
import { DriverError, type SessionDriver } from '@streamspace/session-driver';

const [controlPlaneUrl, agentId, agentSecret, targetPort, sessionId] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const observation: SessionObservation = { sessionId, status: 'running', details: {} };
const unsupported = () => Promise.reject(new DriverError('platform_error', 'benchmark driver'));
const driver: SessionDriver = {
  platform: 'local',
  start: unsupported,
  wake: unsupported,
  stop: async () => {},
  hibernate: async () => {},
  inspect: async (id) => (id === sessionId ? observation : null),
  list: async () => [observation],
  async openStream() {
    const socket = connect({ host: '127.0.0.1', port: Number(targetPort) });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return socket;
  },
  onSessionChange: () => () => {},
  close: async () => {},
};
const runtime = createAgentRuntime({
  controlPlaneUrl,
  agentId,
  agentSecret,
  driver,
  agentVersion: 'bench',
  capacity: { maxSessions: 10 },
  region: 'bench',
  labels: {},
  clusterInfo: {},
  // Logs go to stderr: stdout carries only the line bench/paths.ts reads.
  logger: pino({ level: 'warn' }, pino.destination(2)),
  createStreamEndpoint: (link, context) => createAgentStreamMux(link, context),
});
runtime.onConnected(() => process.stdout.write(`${JSON.stringify({ connected: true })}\n`));
await runtime.start();
process.on('SIGTERM', () => void runtime.stop().then(() => process.exit(0)));
