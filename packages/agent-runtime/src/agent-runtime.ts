import { join } from 'node:path';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import {
  MAX_CONTROL_MESSAGE_BYTES,
  MAX_LINK_MESSAGE_BYTES,
  parseControlPlaneMessage,
  PROTOCOL_VERSION,
  systemClock,
  type AgentMessage,
  type BinaryLink,
  type Capacity,
  type Clock,
  type ClockTimer,
  type CommandMessage,
  type Labels,
  type StreamEndpoint,
} from '@streamspace/protocol';
import type { SessionDriver } from '@streamspace/session-driver';
import { webSocketBinaryLink } from './streams/websocket-binary-link';
import { createCommandExecutor, type CommandExecutor } from './command-executor';
import { createFileOutcomeStore, memoryOutcomeStore } from './outcome-store';
import {
  DEFAULT_RECONNECT_POLICY,
  reconnectDelayMs,
  type ReconnectPolicy,
} from './reconnect-backoff';

/** Path of the agent link on the control plane (docs/api.md). */
export const AGENT_CONNECT_PATH = '/api/v1/agents/connect';
/** How long stop() waits for running commands to finish, in ms. */
const STOP_GRACE_MS = 10_000;
/** Header naming the agent beside its bearer secret. */
export const AGENT_ID_HEADER = 'X-StreamSpace-Agent-Id';

export interface AgentRuntimeOptions {
  /** http(s)://host:port of the control plane; the link uses ws(s) on the same origin. */
  controlPlaneUrl: string;
  agentId: string;
  agentSecret: string;
  driver: SessionDriver;
  agentVersion: string;
  capacity: Capacity;
  region: string;
  labels: Labels;
  clusterInfo: Record<string, string>;
  clock?: Clock;
  logger: Logger;
  /** The stream side of each link (the stream mux), made once per connection. */
  createStreamEndpoint?: (
    link: BinaryLink,
    context: { driver: SessionDriver; logger: Logger },
  ) => StreamEndpoint;
  /** Where to keep command outcomes so that at-most-once survives an agent restart. */
  stateDir?: string;
  reconnect?: ReconnectPolicy;
  random?: () => number;
}

export type AgentRuntime = ReturnType<typeof createAgentRuntime>;

/**
 * What every agent shares (issue 2 #8): dials the control plane and keeps dialling with
 * back-off, says hello with the driver's inventory, heartbeats, and runs commands through
 * the driver at most once per command id.
 */
export function createAgentRuntime(options: AgentRuntimeOptions) {
  const { driver, agentId } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy = options.reconnect ?? DEFAULT_RECONNECT_POLICY;
  const logger = options.logger.child({ agentId });
  const url = linkUrl(options.controlPlaneUrl);
  let executor: CommandExecutor | undefined;
  let ws: WebSocket | undefined;
  let endpoint: StreamEndpoint | undefined;
  let welcomed = false;
  let stopped = true;
  let attempt = 0;
  let connections = 0;
  let reconnectTimer: ClockTimer | undefined;
  let heartbeatTimer: ClockTimer | undefined;
  let unsubscribeDriver: (() => void) | undefined;
  const running = new Set<string>();
  const connectedListeners = new Set<() => void>();

  function send(message: AgentMessage): boolean {
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${options.agentSecret}`, [AGENT_ID_HEADER]: agentId },
      perMessageDeflate: false,
      maxPayload: MAX_LINK_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
    });
    ws = socket;
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body = (body + chunk).slice(0, 2048)));
      response.on('end', () => {
        logger.error(
          { status: response.statusCode, code: errorCodeOf(body) },
          'control plane refused the agent link',
        );
        socket.terminate();
      });
    });
    socket.on('open', () => void onOpen(socket));
    socket.on('message', (data: RawData, isBinary: boolean) => onMessage(socket, data, isBinary));
    socket.on('error', (error) => logger.warn({ err: error.message }, 'agent link error'));
    socket.on('close', (code: number, reason: Buffer) => onClose(socket, code, reason));
  }

  async function onOpen(socket: WebSocket): Promise<void> {
    if (options.createStreamEndpoint !== undefined) {
      endpoint = options.createStreamEndpoint(webSocketBinaryLink(socket), { driver, logger });
    }
    let inventory;
    try {
      inventory = await driver.list();
    } catch (error) {
      logger.error({ err: error }, 'driver inventory failed; reconnecting');
      socket.close(1011, 'driver inventory failed');
      return;
    }
    running.clear();
    for (const observation of inventory)
      if (observation.status === 'running') running.add(observation.sessionId);
    if (socket !== ws) return;
    send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentId,
      platform: driver.platform,
      agentVersion: options.agentVersion,
      capacity: options.capacity,
      region: options.region,
      labels: options.labels,
      clusterInfo: options.clusterInfo,
      inventory,
    });
  }

  function onMessage(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (socket !== ws) return;
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    if (isBinary) {
      endpoint?.handleBinary(buffer);
      return;
    }
    if (buffer.length > MAX_CONTROL_MESSAGE_BYTES) {
      socket.close(1009, `control message of ${buffer.length} bytes is too big`);
      return;
    }
    const parsed = parseControlPlaneMessage(buffer.toString('utf8'));
    if (!parsed.ok) {
      logger.warn({ code: parsed.code }, 'invalid message from the control plane');
      send({ type: 'error', code: parsed.code, message: parsed.message });
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'welcome':
        welcomed = true;
        attempt = 0;
        connections++;
        logger.info({ heartbeatIntervalMs: message.heartbeatIntervalMs }, 'agent link up');
        scheduleHeartbeat(message.heartbeatIntervalMs);
        for (const listener of connectedListeners) listener();
        return;
      case 'command':
        onCommand(message);
        return;
      case 'error':
        logger.warn({ code: message.code, reason: message.message }, 'control plane error');
        return;
    }
  }

  function onCommand(message: CommandMessage): void {
    // Ack first, whatever happens next: the control plane stops re-sending on the ack.
    send({ type: 'command_ack', commandId: message.commandId });
    if (executor === undefined) return;
    executor.execute(message).then(
      (outcome) => send({ type: 'command_result', commandId: message.commandId, outcome }),
      (error: unknown) =>
        logger.error({ err: error, commandId: message.commandId }, 'command bookkeeping failed'),
    );
  }

  function scheduleHeartbeat(intervalMs: number): void {
    if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer);
    heartbeatTimer = clock.setTimeout(() => {
      heartbeatTimer = undefined;
      if (!welcomed || stopped) return;
      send({ type: 'heartbeat', activeSessions: running.size });
      scheduleHeartbeat(intervalMs);
    }, intervalMs);
  }

  function onClose(socket: WebSocket, code: number, reason: Buffer): void {
    if (socket !== ws) return;
    ws = undefined;
    const wasWelcomed = welcomed;
    welcomed = false;
    if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer);
    heartbeatTimer = undefined;
    endpoint?.closeAll('agent link closed');
    endpoint = undefined;
    if (stopped) return;
    const delay = reconnectDelayMs(attempt++, policy, random);
    logger[wasWelcomed ? 'warn' : 'info'](
      { code, reason: reason.toString('utf8'), retryInMs: delay },
      'agent link closed',
    );
    reconnectTimer = clock.setTimeout(connect, delay);
  }

  return {
    async start(): Promise<void> {
      if (!stopped) return;
      executor ??= await createCommandExecutor({
        driver,
        clock,
        logger,
        store:
          options.stateDir === undefined
            ? memoryOutcomeStore
            : createFileOutcomeStore(join(options.stateDir, 'command-outcomes.jsonl')),
        onApplied: (payload, outcome) => {
          if (!outcome.ok) return;
          if (payload.type === 'start_session' || payload.type === 'wake_session')
            running.add(payload.sessionId);
          else running.delete(payload.sessionId);
        },
      });
      stopped = false;
      unsubscribeDriver = driver.onSessionChange((observation) => {
        if (observation.status === 'running') running.add(observation.sessionId);
        else running.delete(observation.sessionId);
        if (!send({ type: 'session_report', observation }))
          logger.debug({ sessionId: observation.sessionId }, 'session report not sent: offline');
      });
      connect();
    },
    /** Close the link and stop reconnecting; the driver and its sessions are left alone. */
    async stop(): Promise<void> {
      stopped = true;
      unsubscribeDriver?.();
      if (reconnectTimer !== undefined) clock.clearTimeout(reconnectTimer);
      if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer);
      const socket = ws;
      ws = undefined;
      welcomed = false;
      endpoint?.closeAll('agent stopping');
      endpoint = undefined;
      if (socket !== undefined && socket.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            socket.terminate();
            resolve();
          }, 2_000);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
          else socket.close(1000, 'agent stopping');
        });
      }
      // Let running driver calls record their outcome, within a bound: at-most-once holds
      // either way (a command without an outcome is reported interrupted after a restart).
      await Promise.race([
        Promise.allSettled(executor?.inFlight() ?? []),
        new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref()),
      ]);
    },
    /** True between the control plane's welcome and the link closing. */
    isConnected: (): boolean => welcomed,
    /** How many times the link has been welcomed (reconnects included). */
    connectionCount: (): number => connections,
    /** Called after every welcome (reconnects included). Returns unsubscribe. */
    onConnected(listener: () => void): () => void {
      connectedListeners.add(listener);
      return () => connectedListeners.delete(listener);
    },
  };
}

function linkUrl(controlPlaneUrl: string): string {
  const url = new URL(AGENT_CONNECT_PATH, controlPlaneUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function errorCodeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
