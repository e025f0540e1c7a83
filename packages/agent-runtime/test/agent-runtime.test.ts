import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  parseAgentMessage,
  PROTOCOL_VERSION,
  type AgentMessage,
  type ControlPlaneMessage,
} from '@streamspace/protocol';
import { waitFor } from '@streamspace/test-kit';
import { createAgentRuntime } from '../src/agent-runtime';
import { reconnectDelayMs } from '../src/reconnect-backoff';
import { FakeDriver } from './fake-driver';

const logger = pino({ level: 'silent' });

/**
 * A minimal control-plane side of the agent link speaking the real protocol: checks the
 * credential headers, answers hello with welcome, records what the agent sends.
 */
async function createLinkServer(agentId: string, secret: string) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const received: AgentMessage[] = [];
  const raw: string[] = [];
  const sockets: WebSocket[] = [];
  let refuse = false;
  let attempts = 0;
  wss.options.verifyClient = (info: { req: { headers: Record<string, unknown> } }) => {
    attempts++;
    return (
      !refuse &&
      info.req.headers.authorization === `Bearer ${secret}` &&
      info.req.headers['x-streamspace-agent-id'] === agentId
    );
  };
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data) => {
      raw.push(String(data));
      const parsed = parseAgentMessage(String(data));
      if (!parsed.ok) return;
      received.push(parsed.message);
      if (parsed.message.type === 'hello') {
        const welcome: ControlPlaneMessage = {
          type: 'welcome',
          protocolVersion: PROTOCOL_VERSION,
          agentId,
          heartbeatIntervalMs: 50,
          heartbeatTimeoutMs: 500,
        };
        ws.send(JSON.stringify(welcome));
      }
    });
  });
  return {
    url: () => `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    received,
    raw,
    sockets,
    attempts: () => attempts,
    setRefuse: (value: boolean) => void (refuse = value),
    ofType: <T extends AgentMessage['type']>(type: T) =>
      received.filter((m): m is Extract<AgentMessage, { type: T }> => m.type === type),
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

describe('agent runtime against a protocol-speaking server', () => {
  const agentId = randomUUID();
  const secret = 'ssa_' + 'k'.repeat(43);
  let server: Awaited<ReturnType<typeof createLinkServer>>;
  let driver: FakeDriver;
  let runtime: ReturnType<typeof createAgentRuntime>;

  before(async () => {
    server = await createLinkServer(agentId, secret);
    driver = new FakeDriver('local');
    driver.sessions.set('6c1b2f7e-0000-4000-8000-000000000001', {
      sessionId: '6c1b2f7e-0000-4000-8000-000000000001',
      status: 'running',
      details: {},
    });
    runtime = createAgentRuntime({
      controlPlaneUrl: server.url(),
      agentId,
      agentSecret: secret,
      driver,
      agentVersion: '1.2.3',
      capacity: { maxSessions: 4 },
      region: 'lab',
      labels: { tier: 'test' },
      clusterInfo: { host: 'h1' },
      logger,
      reconnect: { baseMs: 10, capMs: 100 },
    });
    await runtime.start();
  });
  after(async () => {
    await runtime?.stop();
    await server?.close();
  });

  it('says hello with the driver inventory, then heartbeats at the interval the welcome gave', async () => {
    await waitFor('connected', () => runtime.isConnected());
    const hello = server.ofType('hello')[0];
    assert.equal(hello?.agentId, agentId);
    assert.equal(hello?.platform, 'local');
    assert.equal(hello?.protocolVersion, PROTOCOL_VERSION);
    assert.deepEqual(hello?.labels, { tier: 'test' });
    assert.deepEqual(
      hello?.inventory.map((o) => o.sessionId),
      ['6c1b2f7e-0000-4000-8000-000000000001'],
    );
    await waitFor('three heartbeats', () => server.ofType('heartbeat').length >= 3);
    assert.equal(server.ofType('heartbeat')[0]?.activeSessions, 1);
  });

  it('acks a command at once and reports its result; unknown messages get an error reply', async () => {
    const sessionId = randomUUID();
    const commandId = randomUUID();
    const socket = server.sockets.at(-1)!;
    socket.send(
      JSON.stringify({
        type: 'command',
        commandId,
        deadline: new Date(Date.now() + 60_000).toISOString(),
        command: { type: 'hibernate_session', sessionId },
      }),
    );
    await waitFor('result', () =>
      server.ofType('command_result').find((m) => m.commandId === commandId),
    );
    assert.ok(server.ofType('command_ack').some((m) => m.commandId === commandId));
    const result = server.ofType('command_result').find((m) => m.commandId === commandId);
    assert.deepEqual(result?.outcome, {
      ok: false,
      error: { code: 'session_not_found', message: 'no such session' },
    });
    socket.send(JSON.stringify({ type: 'self_destruct' }));
    socket.send('{nope');
    await waitFor('two error replies', () => server.ofType('error').length >= 2);
    assert.deepEqual(
      server.ofType('error').map((m) => m.code),
      ['unknown_message', 'invalid_message'],
    );
  });

  it('reports driver-side changes as session_report', async () => {
    const sessionId = randomUUID();
    driver.emitChange({ sessionId, status: 'failed', reason: 'Xvnc died', details: {} });
    await waitFor('report', () =>
      server.ofType('session_report').find((m) => m.observation.sessionId === sessionId),
    );
  });

  it('reconnects with back-off after the link drops or is refused', async () => {
    const before = runtime.connectionCount();
    server.setRefuse(true);
    server.sockets.at(-1)!.terminate();
    await waitFor('the runtime to notice', () => !runtime.isConnected());
    const refusedFrom = server.attempts();
    await waitFor('two refused attempts', () => server.attempts() >= refusedFrom + 2);
    assert.equal(runtime.isConnected(), false);
    server.setRefuse(false);
    await waitFor('a new connection', () => runtime.connectionCount() === before + 1);
    assert.equal(server.ofType('hello').length, before + 1, 'a fresh hello on every connection');
  });
});

describe('reconnect back-off', () => {
  it('is full jitter under an exponential ceiling capped at the policy', () => {
    const policy = { baseMs: 500, capMs: 30_000 };
    assert.equal(
      reconnectDelayMs(0, policy, () => 0.999),
      499,
    );
    assert.equal(
      reconnectDelayMs(3, policy, () => 0.5),
      2_000,
    );
    assert.equal(
      reconnectDelayMs(20, policy, () => 0.999),
      29_970,
    );
    assert.equal(
      reconnectDelayMs(20, policy, () => 0),
      0,
    );
  });
});
