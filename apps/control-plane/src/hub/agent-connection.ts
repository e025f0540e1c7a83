import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  HelloMessage,
  isSupportedProtocolVersion,
  MAX_CONTROL_MESSAGE_BYTES,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  parseAgentMessage,
  PROTOCOL_VERSION,
  type AgentMessage,
  type Clock,
  type ControlPlaneMessage,
  type ErrorCode,
  type StreamEndpoint,
} from '@streamspace/protocol';
import type { AgentRow } from '../db/schema';
import { readLinkIntoSlabs } from './link-socket-reader';

/** Invalid messages tolerated per INVALID_WINDOW_MS before the link is closed with 4006. */
export const INVALID_MESSAGE_LIMIT = 10;
const INVALID_WINDOW_MS = 60_000;

/** What a connection needs from the hub that owns it. */
export interface ConnectionHost<E extends StreamEndpoint> {
  clock: Clock;
  /** Called once per valid hello; resolves false when the connection must not go on. */
  activate(connection: AgentConnection<E>, hello: HelloMessage): Promise<boolean>;
  /** A valid message other than hello from an active connection. */
  dispatch(connection: AgentConnection<E>, message: AgentMessage): Promise<void>;
  /** The connection is gone (closed by either side). Runs once. */
  released(connection: AgentConnection<E>, reason: string): void;
  countMessage(type: string, outcome: 'ok' | 'invalid' | 'unknown' | 'oversized'): void;
}

export type AgentConnection<E extends StreamEndpoint> = ReturnType<typeof createAgentConnection<E>>;

/**
 * One agent's WebSocket after authentication: hello first, then messages handled strictly
 * in arrival order (a command_result never overtakes its command_ack).
 */
export function createAgentConnection<E extends StreamEndpoint>(
  host: ConnectionHost<E>,
  ws: WebSocket,
  socket: Duplex,
  agent: AgentRow,
  logger: Logger,
) {
  const openedAt = host.clock.now();
  let lastSeenAt = openedAt;
  /**
   * When the last control message ARRIVED. Messages are handled one at a time per link, so a
   * heartbeat can wait behind slow work (hello reconciliation while thousands of agents
   * reconnect at once): an agent whose messages keep arriving is alive even while their
   * handling, which moves lastSeenAt, lags.
   */
  let heardAt = openedAt;
  let hello: HelloMessage | undefined;
  let endpoint: E | undefined;
  let closing = false;
  let invalidAt: number[] = [];
  let chain: Promise<void> = Promise.resolve();
  // Link messages are read into slabs and decoded in place rather than each reassembled into
  // a new buffer; ws still validates every frame (link-socket-reader.ts). Bytes the socket
  // already holds are handed over on the next tick, once the listeners below are in place.
  const slabs = readLinkIntoSlabs(ws, socket);

  const connection = {
    agentId: agent.id,
    agent,
    ws,
    socket,
    logger,
    openedAt,
    get hello() {
      return hello;
    },
    get lastSeenAt() {
      return lastSeenAt;
    },
    get endpoint() {
      return endpoint;
    },
    set endpoint(value: E | undefined) {
      endpoint = value;
    },
    get closing() {
      return closing;
    },
    send(message: ControlPlaneMessage): boolean {
      if (closing || ws.readyState !== ws.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
    sendError(code: ErrorCode, message: string): void {
      connection.send({ type: 'error', code, message: message.slice(0, 4096) });
    },
    /**
     * Close with a code and reason; the hub forgets the connection at once, whether or not
     * the peer answers the close handshake (a dead peer is terminated after a grace period).
     */
    close(code: number, reason: string): void {
      if (closing) return;
      closing = true;
      logger.info({ code, reason }, 'closing agent connection');
      ws.close(code, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 5_000).unref();
      release(reason);
    },
    /** The hub's periodic check; returns why the connection should close, if it should. */
    overdue(helloTimeoutMs: number, heartbeatTimeoutMs: number): string | undefined {
      const now = host.clock.now();
      if (hello === undefined && now - openedAt >= helloTimeoutMs)
        return `no hello within ${helloTimeoutMs} ms`;
      if (hello !== undefined && now - Math.max(lastSeenAt, heardAt) >= heartbeatTimeoutMs)
        return `no heartbeat for ${heartbeatTimeoutMs} ms`;
      return undefined;
    },
  };

  let released = false;
  function release(reason: string): void {
    if (released) return;
    released = true;
    host.released(connection, reason);
  }

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (closing) return;
    const buffer = toBuffer(data);
    if (isBinary) {
      if (endpoint === undefined) {
        invalid(
          'invalid_message',
          hello === undefined
            ? 'binary stream frames are only accepted after hello'
            : 'this control plane has no stream endpoint for binary frames',
        );
        return;
      }
      // Before the mux: its DATA views keep their slab from reuse until credited back.
      slabs?.inbound(buffer);
      endpoint.handleBinary(buffer);
      return;
    }
    if (buffer.length > MAX_CONTROL_MESSAGE_BYTES) {
      host.countMessage('unparsed', 'oversized');
      connection.close(
        CloseCode.messageTooBig,
        `control message of ${buffer.length} bytes exceeds ${MAX_CONTROL_MESSAGE_BYTES}`,
      );
      return;
    }
    heardAt = host.clock.now();
    const text = buffer.toString('utf8');
    chain = chain
      .then(() => handleText(text))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'agent message handling failed');
      });
  });
  ws.on('close', (code: number) => {
    closing = true;
    release(`connection closed (${code})`);
  });
  ws.on('error', (error: Error) => {
    // ws reports maxPayload overruns here and then closes with 1009 itself.
    logger.warn({ err: error }, 'agent connection error');
  });

  async function handleText(text: string): Promise<void> {
    if (closing) return;
    if (hello === undefined) {
      await handleFirstMessage(text);
      return;
    }
    const parsed = parseAgentMessage(text);
    if (!parsed.ok) {
      invalid(parsed.code, parsed.message);
      return;
    }
    const message = parsed.message;
    host.countMessage(message.type, 'ok');
    lastSeenAt = host.clock.now();
    if (message.type === 'hello') {
      invalid('invalid_message', 'hello was already received on this connection');
      return;
    }
    await host.dispatch(connection, message);
  }

  async function handleFirstMessage(text: string): Promise<void> {
    // Check the version before the schema: a newer agent's hello may have another shape.
    const version = peekVersion(text);
    if (version !== undefined && !isSupportedProtocolVersion(version)) {
      host.countMessage('hello', 'invalid');
      connection.sendError(
        'protocol_version_unsupported',
        versionReason(version) + '; upgrade the agent or the control plane',
      );
      connection.close(CloseCode.protocolVersionUnsupported, versionReason(version));
      return;
    }
    const parsed = parseAgentMessage(text);
    if (!parsed.ok || parsed.message.type !== 'hello') {
      const why = parsed.ok
        ? `the first message must be hello, not ${parsed.message.type}`
        : `the first message must be a valid hello: ${parsed.message}`;
      host.countMessage(parsed.ok ? parsed.message.type : 'unparsed', 'invalid');
      connection.sendError('invalid_message', why);
      connection.close(CloseCode.invalidMessage, why);
      return;
    }
    host.countMessage('hello', 'ok');
    const message = parsed.message;
    if (message.agentId !== agent.id) {
      connection.close(CloseCode.forbidden, 'hello agentId does not match the credential');
      return;
    }
    if (message.platform !== agent.platform) {
      connection.close(
        CloseCode.forbidden,
        `hello platform ${message.platform} differs from the registered ${agent.platform}`,
      );
      return;
    }
    hello = message;
    lastSeenAt = host.clock.now();
    let activated: boolean;
    try {
      activated = await host.activate(connection, message);
    } catch (error) {
      logger.error({ err: error }, 'agent activation failed');
      connection.close(CloseCode.internalError, 'the control plane could not register the link');
      return;
    }
    if (!activated) connection.close(CloseCode.agentDeleted, 'agent was deleted');
  }

  function invalid(code: 'invalid_message' | 'unknown_message', message: string): void {
    host.countMessage('unparsed', code === 'unknown_message' ? 'unknown' : 'invalid');
    logger.warn({ code }, 'invalid agent message');
    connection.sendError(code, message);
    const now = host.clock.now();
    invalidAt = [...invalidAt.filter((at) => now - at < INVALID_WINDOW_MS), now];
    if (invalidAt.length > INVALID_MESSAGE_LIMIT) {
      connection.close(
        CloseCode.invalidMessage,
        `more than ${INVALID_MESSAGE_LIMIT} invalid messages within ${INVALID_WINDOW_MS / 1000} s`,
      );
    }
  }

  return connection;
}

function versionReason(version: number): string {
  return `agent protocol version ${version} unsupported (control plane speaks ${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION})`;
}

function peekVersion(text: string): number | undefined {
  try {
    const json = JSON.parse(text) as { type?: unknown; protocolVersion?: unknown } | null;
    return json?.type === 'hello' && typeof json.protocolVersion === 'number'
      ? json.protocolVersion
      : undefined;
  } catch {
    return undefined;
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
